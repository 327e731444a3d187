import { describe, expect, it } from "vitest";
import { looksLikeCard, luhnValid, sensitiveKind } from "../widget/frame/sensitive";

describe("sensitive text check", () => {
  it.each([
    "4111111111111111",
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "3782 822463 10005",
    "card: 6011111111111117!",
    "call 2 4111 1111 1111 1111",
    "4000000000000000006",
    "4111.1111.1111.1111",
    "4111 - 1111 - 1111 - 1111",
    "4111/1111/1111/1111",
    "4111_1111_1111_1111",
    "4111\u20141111\u20141111\u20141111",
    "\uff14\uff11\uff11\uff11 1111 1111 1111",
  ])("sees a card in %s", (text) => {
    expect(looksLikeCard(text)).toBe(true);
    expect(sensitiveKind(text)).toBe("card");
  });

  it.each(["order 1234567890123", "4111 1111 1111 1112", "+370 612 34567", "2026-11-25", "411111111117", "192.168.100.200", "4111    1111    1111    1111"])(
    "leaves %s alone",
    (text) => {
      expect(looksLikeCard(text)).toBe(false);
      expect(sensitiveKind(text)).toBeNull();
    },
  );

  it("knows Luhn and the password words in English and Lithuanian", () => {
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
    expect(sensitiveKind("my Password is hunter2")).toBe("password");
    expect(sensitiveKind("Slaptažodis: labas")).toBe("password");
    expect(sensitiveKind("hello")).toBeNull();
  });
});
