import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { widgetTables } from "../shared/i18n";
import { buildPrechat } from "../widget/frame/view";
import { config, connect, freshFrame, serveConfig, settle, startFrame } from "./frame-harness";

describe("the pre-chat form's opening words", () => {
  const t = widgetTables.en;

  it("promises a quick answer only while someone is online", () => {
    const online = buildPrechat({ ...config, online: true }, t);
    expect(online.textContent).toContain(t.prechatIntro);
    expect(online.textContent).not.toContain(t.offline);
    const offline = buildPrechat({ ...config, online: false }, t);
    expect(offline.textContent).toContain(t.offline);
    expect(offline.textContent).not.toContain(t.prechatIntro);
  });
});

describe("whether anyone is online, when the panel is opened later", () => {
  const t = widgetTables.en;
  let now = 1_000_000;
  let configReads = 0;
  let online = true;

  beforeEach(() => {
    configReads = 0;
    vi.spyOn(Date, "now").mockImplementation(() => now);
    freshFrame();
    serveConfig(() => {
      configReads += 1;
      return { ...config, online };
    });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it("reads it again when the page's copy is old, keeping what was typed", async () => {
    const { root, parent } = await startFrame({ visible: false, config: { online: false } });
    await connect([]);
    const name = root.querySelector<HTMLInputElement>('input[name="name"]')!;
    name.value = "Ona";
    // Opened at once: the config the page just loaded is fresh.
    parent.handlers!.onVisible(true);
    await settle();
    expect(configReads).toBe(0);
    expect(root.querySelector(".offline")!.textContent).toBe(t.offline);

    // An hour later an agent is online: the form says so instead of "we are offline".
    parent.handlers!.onVisible(false);
    now += 3_600_000;
    parent.handlers!.onVisible(true);
    await settle();
    expect(configReads).toBe(1);
    expect(root.querySelector(".offline")).toBeNull();
    expect(root.querySelector(".intro")!.textContent).toBe(t.prechatIntro);
    expect(root.querySelector<HTMLInputElement>('input[name="name"]')).toBe(name);
    expect(name.value).toBe("Ona");

    // And back, a while later.
    online = false;
    now += 120_000;
    parent.handlers!.onVisible(true);
    await settle();
    expect(root.querySelector(".offline")!.textContent).toBe(t.offline);
  });
});

describe("a privacy notice changed while the page was open", () => {
  const t = widgetTables.en;
  const changed = {
    ...config,
    consent: { required: true, text: "We keep chats for a year.", version: "2026-07", privacy_url: null },
  };
  let served: object = changed;

  beforeEach(() => {
    served = changed;
    freshFrame();
    serveConfig(() => served);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it("shows the new notice, unticked, keeps what was typed, and sends the new version", async () => {
    const { root, view } = await startFrame();
    const ws = await connect([]);
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    const name = form.querySelector<HTMLInputElement>('input[name="name"]')!;
    name.value = "Ona";
    form.querySelector<HTMLInputElement>('[data-testid="consent"]')!.checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const first = ws.last("chat.start")!;
    expect(first.consent).toEqual({ accepted: true, version: "2026-01" });
    ws.receive({ t: "error", id: first.id, code: "consent_required", message: "changed" });
    await settle();
    await settle();
    expect(view.notice.textContent).toBe(t.errConsentChanged);
    expect(form.querySelector(".consent-text")!.textContent).toBe("We keep chats for a year.");
    const box = form.querySelector<HTMLInputElement>('[data-testid="consent"]')!;
    expect(box.checked).toBe(false);
    expect(document.activeElement).toBe(box);
    expect(name.value).toBe("Ona");

    box.checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const second = ws.last("chat.start")!;
    expect(second.id).not.toBe(first.id);
    expect(second.consent).toEqual({ accepted: true, version: "2026-07" });
  });

  it("says only 'please accept' when the notice is the same", async () => {
    served = config;
    const { root, view } = await startFrame();
    const ws = await connect([]);
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    form.querySelector<HTMLInputElement>('[data-testid="consent"]')!.checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    ws.receive({ t: "error", id: ws.last("chat.start")!.id, code: "consent_required", message: "no" });
    await settle();
    await settle();
    expect(view.notice.textContent).toBe(t.errConsent);
    expect(form.querySelector(".consent-text")!.textContent).toBe("I agree.");
  });
});
