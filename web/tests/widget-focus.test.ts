import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import css from "../widget/frame/frame.css?raw";
import { connect, freshFrame, settle, startFrame } from "./frame-harness";

const ACTIVE = [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }];

/** happy-dom lays nothing out: give the scroller a height to scroll in. */
function tallScroller(root: HTMLElement): HTMLElement {
  const scroller = root.querySelector<HTMLElement>(".scroller")!;
  Object.defineProperty(scroller, "scrollHeight", { configurable: true, value: 900 });
  Object.defineProperty(scroller, "clientHeight", { configurable: true, value: 400 });
  return scroller;
}

describe("widget focus and scroll position", () => {
  beforeEach(() => {
    freshFrame();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("opens the pre-chat form at its top, where the greeting and the offline notice are", async () => {
    const { root, parent } = await startFrame({ visible: false });
    await connect([]);
    const scroller = tallScroller(root);
    parent.handlers!.onVisible(true);
    expect(scroller.scrollTop).toBe(0);
    expect(document.activeElement).toBe(root.querySelector('input[name="name"]'));
  });

  it("still opens a chat at its latest message", async () => {
    const { root, parent } = await startFrame({ stored: { token: "vt_old", conversation: "c_1" }, visible: false });
    await connect(ACTIVE);
    const scroller = tallScroller(root);
    parent.handlers!.onVisible(true);
    expect(scroller.scrollTop).toBe(900);
  });

  it("starts a new chat's form at its top, not where the old log was scrolled to", async () => {
    const { root } = await startFrame({ stored: { token: "vt_old", conversation: "c_1" } });
    await connect([{ id: "c_1", state: "closed", last_seq: 3, created_at: "x", agent: null }]);
    const scroller = tallScroller(root);
    scroller.scrollTop = 700;
    root.querySelector<HTMLButtonElement>('[data-testid="new-chat"]')!.click();
    expect(root.querySelector('[data-testid="prechat"]')).not.toBeNull();
    expect(scroller.scrollTop).toBe(0);
  });

  it("gives the focus to the rating when the visitor ends the chat, then to a new chat", async () => {
    const { root, view } = await startFrame({ stored: { token: "vt_old", conversation: "c_1" } });
    const ws = await connect(ACTIVE);
    view.end.click();
    root.querySelector<HTMLButtonElement>('[data-testid="end-confirm"]')!.click();
    const end = ws.last("chat.end")!;
    ws.receive({ t: "ack", id: end.id, state: "closed" });
    await settle();
    const good = root.querySelector<HTMLButtonElement>('[data-testid="rate-good"]')!;
    expect(view.footer.hidden).toBe(true);
    expect(document.activeElement).toBe(good);
    // The buttons are read with their question.
    const group = good.closest('[role="group"]')!;
    expect(document.getElementById(group.getAttribute("aria-labelledby")!)!.textContent).toBe("How was this chat?");

    good.click();
    // As a browser does when the focused button is disabled while the rating goes out.
    good.blur();
    ws.receive({ t: "ack", id: ws.last("rating")!.id, seq: 3 });
    await settle();
    expect(root.querySelector<HTMLElement>(".rate-box")!.hidden).toBe(true);
    expect(document.activeElement).toBe(root.querySelector('[data-testid="new-chat"]'));
  });

  it("moves the focus out of the composer when the agent closes the chat under it", async () => {
    const { root, view } = await startFrame({ stored: { token: "vt_old", conversation: "c_1" } });
    const ws = await connect(ACTIVE);
    view.composer.focus();
    ws.receive({ t: "conv.state", conversation: "c_1", seq: 1, state: "closed", agent: null, ts: "x", reason: "agent" });
    await settle();
    expect(document.activeElement).toBe(root.querySelector('[data-testid="rate-good"]'));
  });

  it("draws the rating thumbs instead of relying on an emoji font", async () => {
    const { root } = await startFrame();
    const good = root.querySelector<HTMLButtonElement>('[data-testid="rate-good"]')!;
    expect(good.textContent).toBe("Good");
    expect(good.querySelector('svg[aria-hidden="true"] path')).not.toBeNull();
    expect(root.querySelector('[data-testid="rate-bad"]')!.textContent).toBe("Bad");
  });

  it("keeps fields at 16px on a phone, so iOS does not zoom into them", () => {
    const phone = /@media \(max-width: 480px\) \{([^}]*)\}/u.exec(css);
    expect(phone).not.toBeNull();
    expect(phone![1]).toContain("textarea");
    expect(phone![1]).toContain('input[type="text"]');
    expect(phone![1]).toMatch(/font-size: 16px/u);
  });
});
