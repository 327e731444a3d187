import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { connect, freshFrame, settle, startFrame } from "./frame-harness";

const MARKUP_NAME = "<b>Jonas</b>";
const MARKUP_MESSAGE = "Hi! <img src=x onerror=alert(1)> <script>alert(2)</script> see https://evil.example/x";

function invite(message = "Can I help you with anything?", name: string | null = "Jonas") {
  return { t: "invite", agent: name === null ? null : { name }, message };
}

describe("widget invitations", () => {
  beforeEach(() => {
    freshFrame();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("shows the agent's name and message as text only, opens the panel and counts as unread", async () => {
    const { root, parent } = await startFrame({ visible: false });
    const ws = await connect([]);
    expect(parent.last("bastion:unread")).toEqual({ type: "bastion:unread", count: 0, label: "Chat" });

    ws.receive(invite(MARKUP_MESSAGE, MARKUP_NAME));
    const box = root.querySelector('[data-testid="invitation"]')!;
    expect(box).not.toBeNull();
    expect(box.querySelector(".invitation-agent")!.textContent).toBe(MARKUP_NAME);
    expect(box.querySelector(".invitation-message")!.textContent).toBe(MARKUP_MESSAGE);
    // Text nodes only: no element came out of the payloads, not even a link.
    for (const tag of ["b", "img", "script", "a"]) expect(box.querySelector(tag)).toBeNull();
    // At the top of the panel, above the greeting and the pre-chat form.
    const scroller = root.querySelector(".scroller")!;
    expect(scroller.firstElementChild).toBe(box);
    expect(root.querySelector('[data-testid="prechat"]')).not.toBeNull();

    expect(parent.last("bastion:open")).toEqual({ type: "bastion:open" });
    // The count is in the launcher's name too, for screen readers (they do not read the badge).
    expect(parent.last("bastion:unread")).toEqual({ type: "bastion:unread", count: 1, label: "Chat (1 unread)" });
    // The loader opens the panel and says so: the invitation has been seen.
    parent.handlers!.onVisible(true);
    expect(parent.last("bastion:unread")).toEqual({ type: "bastion:unread", count: 0, label: "Chat" });
  });

  it("uses a neutral name when the agent has none, and ignores an empty invitation", async () => {
    const { root, parent } = await startFrame();
    const ws = await connect([]);
    ws.receive(invite("   "));
    expect(root.querySelector('[data-testid="invitation"]')).toBeNull();
    expect(parent.last("bastion:open")).toBeUndefined();
    ws.receive(invite("Hello there", null));
    expect(root.querySelector(".invitation-agent")!.textContent).toBe("Agent");
    // A second invitation replaces the first.
    ws.receive(invite("Still here?"));
    expect(root.querySelectorAll('[data-testid="invitation"]')).toHaveLength(1);
    expect(root.querySelector(".invitation-message")!.textContent).toBe("Still here?");
  });

  it("is ignored while the visitor has an open chat", async () => {
    const { root, parent } = await startFrame({ stored: { token: "vt_old", conversation: "c_1", seq: 0 } });
    const ws = await connect([{ id: "c_1", state: "active", last_seq: 2, created_at: "x", agent: { name: "Jonas" } }]);
    ws.receive(invite());
    expect(root.querySelector('[data-testid="invitation"]')).toBeNull();
    expect(parent.last("bastion:open")).toBeUndefined();
  });

  it("is shown after a closed chat, with a fresh pre-chat form", async () => {
    const { root } = await startFrame({ stored: { token: "vt_old", conversation: "c_1", seq: 0 } });
    const ws = await connect([{ id: "c_1", state: "closed", last_seq: 3, created_at: "x", agent: null }]);
    expect(root.querySelector('[data-testid="prechat"]')).toBeNull();
    ws.receive(invite());
    expect(root.querySelector('[data-testid="invitation"]')).not.toBeNull();
    expect(root.querySelector('[data-testid="prechat"]')).not.toBeNull();
  });

  it("starts the chat with chat.start when the visitor answers in the composer", async () => {
    const { root, view } = await startFrame();
    const ws = await connect([]);
    expect(view.footer.hidden).toBe(true);
    ws.receive(invite());
    // The composer is the answer box; the form keeps the fields and the consent.
    expect(view.footer.hidden).toBe(false);
    expect(view.end.hidden).toBe(true);
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    expect(form.querySelector<HTMLElement>(".field--message")!.hidden).toBe(true);

    view.composer.value = "Yes, my card is lost";
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await settle();
    // The widget asks for consent: nothing goes out without it.
    expect(ws.last("chat.start")).toBeUndefined();
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("Please accept to continue.");

    (form.querySelector('input[name="name"]') as HTMLInputElement).value = "Ona";
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    const start = ws.last("chat.start")!;
    expect(start).toMatchObject({
      fields: { name: "Ona" },
      consent: { accepted: true, version: "2026-01" },
      message: "Yes, my card is lost",
    });
    expect(ws.last("msg.send")).toBeUndefined();
    // The server sends the new chat's first event before the ack: it is this tab's own chat.
    ws.receive({ t: "conv.state", conversation: "c_9", seq: 1, state: "waiting", agent: null, ts: "x" });
    expect(root.querySelector('[data-testid="invitation"]')).not.toBeNull();
    ws.receive({ t: "ack", id: start.id, conversation: "c_9", state: "waiting", seq: 2, queue: { position: 1, eta_s: 30 } });
    await settle();
    expect(view.composer.value).toBe("");
    expect(root.querySelector('[data-testid="prechat"]')).toBeNull();
    expect(root.querySelector('[data-testid="state"]')!.getAttribute("data-state")).toBe("waiting");
    // The invitation stays as the start of this chat.
    expect(root.querySelector('[data-testid="invitation"]')).not.toBeNull();
    expect(JSON.parse(localStorage.getItem("bastion:v1:w_1")!).conversation).toBe("c_9");
    // Now it is an open chat: another invitation is not shown.
    ws.receive(invite("Another one"));
    expect(root.querySelector(".invitation-message")!.textContent).toBe("Can I help you with anything?");
  });

  it("does not say nobody is online while an agent is inviting", async () => {
    const { root } = await startFrame({ config: { online: false } });
    const ws = await connect([]);
    const offline = root.querySelector<HTMLElement>(".offline")!;
    expect(offline.hidden).toBe(false);
    ws.receive(invite());
    expect(offline.hidden).toBe(true);
  });

  it("also starts the chat from the pre-chat form's button, taking the composer's text", async () => {
    const { root, view } = await startFrame();
    const ws = await connect([]);
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    // Typed into the form before the invitation came: moved to the composer, not lost.
    (form.querySelector('textarea[name="message"]') as HTMLTextAreaElement).value = "Half a question";
    ws.receive(invite());
    expect(view.composer.value).toBe("Half a question");
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(ws.last("chat.start")).toMatchObject({ message: "Half a question" });
  });
});
