import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { widgetTables } from "../shared/i18n";
import type { WidgetConfig } from "../shared/protocol";
import { buildPrechat } from "../widget/frame/view";
import { config, connect, freshFrame, settle, startFrame } from "./frame-harness";

const { en, lt } = widgetTables;

/** A widget whose texts nobody changed, as the server sends it: each of them null. */
const untouched: WidgetConfig = {
  ...config,
  greeting: null,
  language: "auto",
  prechat_fields: [
    { name: "name", label: null, type: "text", required: false },
    { name: "email", label: null, type: "email", required: true },
  ],
  consent: { required: true, text: null, version: "2026-01", privacy_url: "/privacy" },
};

/** The same widget after an admin wrote its texts. */
const written: WidgetConfig = {
  ...untouched,
  greeting: "Labas! Ask us about your order.",
  prechat_fields: [
    { name: "name", label: "Your name", type: "text", required: false },
    { name: "email", label: "Where we answer", type: "email", required: true },
  ],
  consent: { ...untouched.consent!, text: "I agree that Acme keeps this chat." },
};

const labelOf = (form: HTMLElement, name: string) => form.querySelector(`label[for="prechat-${name}"]`)!.textContent;

describe("the widget's default texts", () => {
  it("are in both languages, in Lithuanian as a Lithuanian would write them", () => {
    for (const t of [en, lt]) {
      for (const key of ["greeting", "fieldName", "fieldEmail", "consentText"] as const) expect(t[key].trim()).not.toBe("");
    }
    expect(lt.greeting).toBe("Sveiki! Kuo galime padėti?");
    expect(lt.fieldName).toBe("Vardas");
    expect(lt.fieldEmail).toBe("El. paštas");
    expect(lt.consentText).toBe(
      "Sutinku, kad šis pokalbis ir mano pateikti duomenys būtų saugomi, kad galėtumėte man atsakyti.",
    );
    // English visitors read what the server used to store for every new widget.
    expect([en.greeting, en.fieldName, en.fieldEmail, en.consentText]).toEqual([
      "Hi! How can we help?",
      "Name",
      "E-mail",
      "I agree that this chat and the details I give are stored to answer me.",
    ]);
  });

  it("stand in for the labels and the consent text left unset, in the visitor's language", () => {
    for (const t of [lt, en]) {
      const form = buildPrechat(untouched, t);
      expect(labelOf(form, "name")).toBe(`${t.fieldName} ${t.optional}`);
      expect(labelOf(form, "email")).toBe(`${t.fieldEmail} `);
      expect(form.querySelector(".consent-text")!.textContent).toBe(t.consentText);
    }
  });

  it("never replace what an admin wrote: that is shown as written in every language", () => {
    const form = buildPrechat(written, lt);
    expect(labelOf(form, "name")).toBe(`Your name ${lt.optional}`);
    expect(labelOf(form, "email")).toBe("Where we answer ");
    expect(form.querySelector(".consent-text")!.textContent).toBe("I agree that Acme keeps this chat.");
  });
});

describe("a widget left at its defaults, in a Lithuanian visitor's frame", () => {
  beforeEach(() => {
    freshFrame();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("greets in Lithuanian, and records the widget's consent version with the chat", async () => {
    const { root } = await startFrame({ config: untouched, lang: "lt" });
    const greeting = root.querySelector<HTMLElement>(".greeting")!;
    expect(greeting.hidden).toBe(false);
    expect(greeting.textContent).toBe(lt.greeting);
    const ws = await connect([]);
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    expect(form.querySelector(".consent-text")!.textContent).toBe(lt.consentText);
    form.querySelector<HTMLInputElement>('input[name="email"]')!.value = "ona@example.lt";
    form.querySelector<HTMLInputElement>('[data-testid="consent"]')!.checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(ws.last("chat.start")).toMatchObject({
      fields: { email: "ona@example.lt" },
      consent: { accepted: true, version: "2026-01" },
    });
  });

  it("names a refused field by its Lithuanian default label", async () => {
    const { root, view } = await startFrame({ config: untouched, lang: "lt" });
    const ws = await connect([]);
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    form.querySelector<HTMLInputElement>('input[name="email"]')!.value = "ona@example.lt";
    form.querySelector<HTMLInputElement>('[data-testid="consent"]')!.checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const start = ws.last("chat.start")!;
    ws.receive({ t: "error", id: start.id, code: "invalid_frame", message: "bad", field: "fields.email" });
    await settle();
    expect(view.notice.textContent).toBe("Patikrinkite lauką „El. paštas“: tokios reikšmės naudoti negalima.");
  });

  it("shows an admin's greeting as written", async () => {
    const { root } = await startFrame({ config: written, lang: "lt" });
    expect(root.querySelector(".greeting")!.textContent).toBe("Labas! Ask us about your order.");
  });
});
