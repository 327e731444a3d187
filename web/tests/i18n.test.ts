import { describe, expect, it } from "vitest";
import { consoleTables, format, pickWidgetLanguage, widgetTables } from "../shared/i18n";

describe("string tables", () => {
  it("en and lt widget tables have the same keys", () => {
    expect(Object.keys(widgetTables.lt).sort()).toEqual(Object.keys(widgetTables.en).sort());
  });

  it("no string is empty and placeholders match across languages", () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/gu)].map((m) => m[1]).sort();
    for (const [key, en] of Object.entries(widgetTables.en)) {
      const lt = widgetTables.lt[key as keyof typeof widgetTables.en];
      expect(en.trim(), key).not.toBe("");
      expect(lt.trim(), key).not.toBe("");
      expect(placeholders(lt), key).toEqual(placeholders(en));
    }
    for (const [key, en] of Object.entries(consoleTables.en)) expect(en.trim(), key).not.toBe("");
  });

  it("keeps the anti-phishing reminder", () => {
    expect(widgetTables.en.reminder).toBe("We will never ask for your password or card number.");
  });
});

describe("pickWidgetLanguage", () => {
  it("prefers the configured language, then the browser's, then English", () => {
    expect(pickWidgetLanguage("lt", "en-US")).toBe("lt");
    expect(pickWidgetLanguage(null, "lt-LT")).toBe("lt");
    expect(pickWidgetLanguage("fr", "de-DE")).toBe("en");
    expect(pickWidgetLanguage(undefined, undefined)).toBe("en");
    expect(pickWidgetLanguage("__proto__", "constructor")).toBe("en");
  });
});

describe("format", () => {
  it("fills placeholders and leaves unknown ones", () => {
    expect(format("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});
