import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { widgetTables } from "../shared/i18n";
import type { WidgetConfig } from "../shared/protocol";
import type { WebSocketLike } from "../shared/socket";
import { WidgetChat } from "../widget/frame/chat";
import { ParentBridge } from "../widget/frame/parent";
import { Store } from "../widget/frame/store";
import { buildView } from "../widget/frame/view";

const config: WidgetConfig = {
  id: "w_1",
  name: "Support",
  color: "#2f6fed",
  greeting: "Hi!",
  language: "en",
  prechat_fields: [
    { name: "name", label: "Name", type: "text", required: false },
    { name: "email", label: "E-mail", type: "email", required: false },
  ],
  consent: { required: true, text: "I agree.", version: "2026-01", privacy_url: "/privacy" },
  online: true,
};

const sockets: FakeSocket[] = [];
class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  constructor(readonly url: string) {
    sockets.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
  last(t: string): Record<string, unknown> | undefined {
    return this.sent.filter((f) => f.t === t).at(-1);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

const agentMsg = (seq: number, body: string) => ({
  t: "msg",
  conversation: "c_1",
  seq,
  message: { id: `m_${seq}`, author: { kind: "agent", name: "Jonas" }, body, ts: "2026-01-01T10:00:00Z" },
});

describe("widget frame", () => {
  let root: HTMLElement;
  let requests: { url: string; init: RequestInit | undefined }[];

  beforeEach(() => {
    sockets.length = 0;
    localStorage.clear();
    document.body.replaceChildren();
    root = document.createElement("div");
    document.body.appendChild(root);
    requests = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        requests.push({ url, init });
        if (url.endsWith("/sessions")) {
          return new Response(JSON.stringify({ token: "vt_new", visitor: "v_1", expires_at: "2030-01-01T00:00:00Z" }), {
            status: 201,
          });
        }
        return new Response(JSON.stringify({ events: [], last_seq: 0 }), { status: 200 });
      }),
    );
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  async function startChat(stored: object | null, overrides: Partial<WidgetConfig> = {}, lang: "en" | "lt" = "en") {
    if (stored) localStorage.setItem("bastion:v1:w_1", JSON.stringify(stored));
    const t = widgetTables[lang];
    const view = buildView(root, t);
    const chat = new WidgetChat({
      widget: "w_1",
      config: { ...config, ...overrides },
      t,
      lang,
      view,
      store: new Store("w_1"),
      parent: new ParentBridge(),
      page: { url: "https://shop.example/cart", title: "Cart" },
      visible: true,
      WebSocket: FakeSocket,
    });
    await chat.start();
    const ws = sockets[0]!;
    ws.open();
    await settle();
    return { view, ws };
  }

  it("takes a refusal of the visitor (a ban) as final: no fresh session, a neutral notice", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        requests.push({ url, init });
        const body = { code: "unavailable", message: "Chat is not available right now." };
        return new Response(JSON.stringify(body), { status: 403 });
      }),
    );
    localStorage.setItem("bastion:v1:w_1", JSON.stringify({ token: "vt_banned" }));
    const t = widgetTables.en;
    const view = buildView(root, t);
    const chat = new WidgetChat({
      widget: "w_1",
      config,
      t,
      lang: "en",
      view,
      store: new Store("w_1"),
      parent: new ParentBridge(),
      page: { url: "https://shop.example/cart", title: "Cart" },
      visible: true,
      WebSocket: FakeSocket,
    });
    await chat.start();
    await settle();
    expect(requests.filter((r) => r.url.endsWith("/sessions"))).toHaveLength(1);
    expect(sockets).toHaveLength(0);
    expect(view.notice.hidden).toBe(false);
    expect(view.notice.textContent).toBe(t.errUnavailable);
    expect(view.footer.hidden).toBe(true);
  });

  it("resumes the stored session and replays the stored conversation from 0", async () => {
    const { ws } = await startChat({ token: "vt_old", conversation: "c_1", seq: 5 });
    const session = requests.find((r) => r.url.endsWith("/sessions"))!;
    expect(session.url).toBe("/api/v1/widgets/w_1/sessions");
    expect(JSON.parse(String(session.init?.body))).toEqual({ page_url: "https://shop.example/cart", resume_token: "vt_old" });
    expect(JSON.parse(localStorage.getItem("bastion:v1:w_1")!).token).toBe("vt_new");

    const hello = ws.last("hello")!;
    expect(hello).toMatchObject({ token: "vt_new", resume: { c_1: 0 } });
    expect(ws.url).toMatch(/^ws:\/\/.+\/ws\/visitor$/u);
    ws.receive({
      t: "ack",
      id: hello.id,
      visitor: "v_1",
      conversations: [{ id: "c_1", state: "active", last_seq: 2, created_at: "2026-01-01T10:00:00Z", agent: { name: "Jonas" } }],
    });
    expect(ws.last("page")).toEqual({ t: "page", url: "https://shop.example/cart", title: "Cart" });
  });

  it("renders events in seq order, once, with the test hooks", async () => {
    const { ws } = await startChat({ token: "vt_old", conversation: "c_1", seq: 0 });
    const hello = ws.last("hello")!;
    ws.receive({ t: "ack", id: hello.id, visitor: "v_1", conversations: [{ id: "c_1", state: "waiting", last_seq: 1, created_at: "x", agent: null }] });
    ws.receive(agentMsg(3, "<img src=x onerror=alert(1)> https://example.com"));
    ws.receive({ t: "conv.state", conversation: "c_1", seq: 2, state: "active", agent: { name: "Jonas" }, ts: "x" });
    ws.receive(agentMsg(3, "duplicate"));
    ws.receive({ ...agentMsg(9, "other"), conversation: "c_2" });

    const msgs = root.querySelectorAll('[data-testid="msg"]');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.getAttribute("data-seq")).toBe("3");
    expect(msgs[0]!.getAttribute("data-author")).toBe("agent");
    const body = msgs[0]!.querySelector(".body")!;
    expect(body.textContent).toBe("<img src=x onerror=alert(1)> https://example.com");
    expect(body.querySelector("img")).toBeNull();
    expect(body.querySelector("a")?.getAttribute("rel")).toBe("noopener noreferrer nofollow ugc");
    const seqs = [...root.querySelectorAll('[data-testid="messages"] [data-seq]')].map((e) => e.getAttribute("data-seq"));
    expect(seqs).toEqual(["2", "3"]);
    const state = root.querySelector('[data-testid="state"]')!;
    expect(state.getAttribute("data-state")).toBe("active");
    expect(state.textContent).toContain("Jonas");

    ws.receive({ t: "typing", conversation: "c_1", on: true, author: { kind: "agent", name: "Jonas" } });
    expect(root.querySelector('[data-testid="typing"]')?.textContent).toBe("Jonas is typing…");
    ws.receive({ t: "typing", conversation: "c_1", on: false, author: { kind: "agent", name: "Jonas" } });
    expect(root.querySelector('[data-testid="typing"]')).toBeNull();
  });

  it("sends on Enter, shows the message once, then rates a closed chat and resumes by seq", async () => {
    const { ws, view } = await startChat({ token: "vt_old", conversation: "c_1", seq: 0 });
    const hello = ws.last("hello")!;
    ws.receive({ t: "ack", id: hello.id, visitor: "v_1", conversations: [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }] });

    view.composer.value = "Hello there";
    view.composer.dispatchEvent(new Event("input"));
    expect(ws.last("typing")).toEqual({ t: "typing", conversation: "c_1", on: true });
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    const send = ws.last("msg.send")!;
    expect(send).toMatchObject({ conversation: "c_1", body: "Hello there" });
    expect(ws.last("typing")).toEqual({ t: "typing", conversation: "c_1", on: false });
    expect(view.composer.value).toBe("");
    expect(root.querySelectorAll('[data-testid="msg-pending"]')).toHaveLength(1);

    ws.receive({ t: "ack", id: send.id, message: "m_4", seq: 4 });
    ws.receive({
      t: "msg",
      conversation: "c_1",
      seq: 4,
      message: { id: "m_4", author: { kind: "visitor", name: null }, body: "Hello there", ts: "x" },
    });
    await settle();
    expect(root.querySelectorAll('[data-testid="msg-pending"]')).toHaveLength(0);
    expect(root.querySelectorAll('[data-testid="msg"][data-author="visitor"]')).toHaveLength(1);

    // The agent left (locked): back in the queue, and the visitor is told so.
    ws.receive({ t: "conv.state", conversation: "c_1", seq: 5, state: "waiting", agent: null, ts: "x", reason: "requeued" });
    expect(root.querySelector('[data-testid="state"]')?.getAttribute("data-state")).toBe("waiting");
    const lines = [...root.querySelectorAll('[data-testid="event"]')].map((e) => e.textContent);
    expect(lines.at(-1)).toBe(widgetTables.en.eventRequeued);

    ws.receive({ t: "conv.state", conversation: "c_1", seq: 6, state: "closed", agent: null, ts: "x" });
    expect(root.querySelector('[data-testid="state"]')?.getAttribute("data-state")).toBe("closed");
    (root.querySelector('[data-testid="rate-good"]') as HTMLButtonElement).click();
    expect(ws.last("rating")).toMatchObject({ conversation: "c_1", score: "good" });

    // After a drop, the hello asks only for what came after the last seq seen.
    ws.drop();
    await new Promise((r) => setTimeout(r, 1100));
    const ws2 = sockets[1]!;
    ws2.open();
    await settle();
    expect(ws2.last("hello")).toMatchObject({ resume: { c_1: 6 } });
    // The unanswered rating goes out again with the same id.
    ws2.receive({ t: "ack", id: ws2.last("hello")!.id, visitor: "v_1", conversations: [] });
    expect(ws2.last("rating")?.id).toBe(ws.last("rating")?.id);

    (root.querySelector('[data-testid="new-chat"]') as HTMLButtonElement).click();
    expect(root.querySelector('[data-testid="prechat"]')).not.toBeNull();
  });

  it("says which message was refused and why: too fast (with the wait), a repeat", async () => {
    const { ws, view } = await startChat({ token: "vt_old", conversation: "c_1", seq: 0 });
    const hello = ws.last("hello")!;
    ws.receive({ t: "ack", id: hello.id, visitor: "v_1", conversations: [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }] });
    const send = async (body: string): Promise<string> => {
      view.composer.value = body;
      view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
      return ws.last("msg.send")!.id as string;
    };
    const first = await send("one");
    ws.receive({ t: "error", id: first, code: "rate_limited", message: "slow down", retry_after: 20 });
    await settle();
    // The refused text is back in the composer, to send again later or change.
    expect(view.composer.value).toBe("one");
    const second = await send("two");
    view.composer.value = "something new";
    ws.receive({ t: "error", id: second, code: "duplicate_message", message: "you have already sent this message" });
    await settle();
    // What the visitor started typing meanwhile is not overwritten.
    expect(view.composer.value).toBe("something new");
    const failed = [...root.querySelectorAll(".msg--failed .pending-status")].map((e) => e.textContent);
    expect(failed).toEqual([
      "Not sent: You are sending messages too quickly. Please wait 20 seconds.",
      "Not sent: You have already sent this message.",
    ]);
  });

  it("shows the pre-chat form without a conversation and starts a chat with consent", async () => {
    const { ws } = await startChat(null);
    const session = requests.find((r) => r.url.endsWith("/sessions"))!;
    expect(JSON.parse(String(session.init?.body))).toEqual({ page_url: "https://shop.example/cart" });
    expect(ws.last("hello")).toMatchObject({ resume: {} });
    ws.receive({ t: "ack", id: ws.last("hello")!.id, visitor: "v_1", conversations: [] });
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    expect(form.querySelector('input[name="name"]')).not.toBeNull();
    expect(form.querySelector('input[name="email"]')?.getAttribute("type")).toBe("email");
    (form.querySelector('input[name="name"]') as HTMLInputElement).value = "Ona";
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    const privacy = form.querySelector<HTMLAnchorElement>("a.privacy")!;
    expect(new URL(privacy.href).pathname).toBe("/privacy");
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const start = ws.last("chat.start")!;
    expect(start).toMatchObject({ fields: { name: "Ona" }, consent: { accepted: true, version: "2026-01" } });
    ws.receive({ t: "ack", id: start.id, conversation: "c_9", state: "waiting", seq: 1, queue: { position: 2, eta_s: 120 } });
    await settle();
    expect(root.querySelector('[data-testid="prechat"]')).toBeNull();
    const state = root.querySelector('[data-testid="state"]')!;
    expect(state.getAttribute("data-state")).toBe("waiting");
    expect(state.textContent).toContain("number 2");
    expect(state.textContent).toContain("about 2 min");
    expect(JSON.parse(localStorage.getItem("bastion:v1:w_1")!).conversation).toBe("c_9");
    // Nobody available: no wait time is promised, and the widget says why.
    ws.receive({ t: "queue", conversation: "c_9", position: 1, eta_s: null });
    await settle();
    expect(state.textContent).toContain("number 1");
    expect(state.textContent).not.toContain("min");
    expect(state.textContent).toContain("Nobody is available right now");
  });

  it("asks before sending a card number or a password, and shows the masked text the server kept", async () => {
    const { ws, view } = await startChat({ token: "vt_old", conversation: "c_1", seq: 0 });
    ws.receive({
      t: "ack",
      id: ws.last("hello")!.id,
      visitor: "v_1",
      conversations: [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }],
    });
    await settle();
    const warning = root.querySelector<HTMLElement>('[data-testid="redaction-warning"]')!;
    expect(warning.hidden).toBe(true);

    // Cancel keeps the text and sends nothing.
    view.composer.value = "my card 4111 1111 1111 1111";
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(ws.last("msg.send")).toBeUndefined();
    expect(warning.hidden).toBe(false);
    expect(warning.textContent).toContain("This looks like a card number. Support never asks for it. Send anyway?");
    root.querySelector<HTMLButtonElement>('[data-testid="cancel-send"]')!.click();
    expect(warning.hidden).toBe(true);
    expect(view.composer.value).toBe("my card 4111 1111 1111 1111");
    expect(ws.last("msg.send")).toBeUndefined();

    // Escape answers "don't send" too, and leaves the panel open.
    const closes: KeyboardEvent[] = [];
    const onKey = (e: KeyboardEvent) => closes.push(e);
    document.addEventListener("keydown", onKey);
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(document.activeElement).toBe(root.querySelector('[data-testid="cancel-send"]'));
    document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    document.removeEventListener("keydown", onKey);
    expect(warning.hidden).toBe(true);
    expect(closes).toHaveLength(0);
    expect(document.activeElement).toBe(view.composer);
    expect(ws.last("msg.send")).toBeUndefined();

    // Send anyway sends; the ack's masked body replaces the local copy at once.
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    root.querySelector<HTMLButtonElement>('[data-testid="send-anyway"]')!.click();
    const send = ws.last("msg.send")!;
    expect(send).toMatchObject({ body: "my card 4111 1111 1111 1111" });
    ws.receive({ t: "ack", id: send.id, message: "m_1", seq: 1, redacted: true, body: "my card [card •••• 1111]" });
    await settle();
    const pending = root.querySelector('[data-testid="msg-pending"]')!;
    expect(pending.textContent).toContain("my card [card •••• 1111]");
    expect(root.textContent).not.toContain("4111 1111");

    // Order numbers pass without a question; the word password (or slaptažodis) asks.
    view.composer.value = "order 1234567890123";
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(ws.last("msg.send")).toMatchObject({ body: "order 1234567890123" });
    expect(warning.hidden).toBe(true);
    view.composer.value = "mano slaptažodis yra x";
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(warning.hidden).toBe(false);
    expect(warning.textContent).toContain("password");
    view.composer.value = "mano";
    view.composer.dispatchEvent(new Event("input"));
    expect(warning.hidden).toBe(true);
  });
  /** A chat of the stored conversation c_1, active with Jonas. */
  async function activeChat(overrides: Partial<WidgetConfig> = {}, lang: "en" | "lt" = "en") {
    const started = await startChat({ token: "vt_old", conversation: "c_1", seq: 0 }, overrides, lang);
    const { ws } = started;
    ws.receive({
      t: "ack",
      id: ws.last("hello")!.id,
      visitor: "v_1",
      conversations: [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }],
    });
    await settle();
    return started;
  }

  function type(view: { composer: HTMLTextAreaElement }, text: string): void {
    view.composer.value = text;
    view.composer.dispatchEvent(new Event("input"));
  }

  it("keeps a text over the limit as typed, says the limit and does not send it", async () => {
    // The server did not say its limit: the default (4,000) applies.
    const { ws, view } = await activeChat();
    expect(view.composer.hasAttribute("maxlength")).toBe(false);
    const counter = root.querySelector<HTMLElement>('[data-testid="counter"]')!;
    type(view, "a".repeat(3000));
    expect(counter.hidden).toBe(true);
    type(view, "a".repeat(3700));
    expect(counter.hidden).toBe(false);
    expect(counter.textContent).toBe("300 characters left");
    expect(view.send.disabled).toBe(false);

    // A pasted 4,100 characters: all kept, the error names the limit, Send is off.
    type(view, "a".repeat(4100));
    expect(view.composer.value).toHaveLength(4100);
    expect(counter.textContent).toBe("This message is too long: at most 4,000 characters (100 too many).");
    expect(counter.classList.contains("counter--over")).toBe(true);
    expect(view.composer.getAttribute("aria-invalid")).toBe("true");
    expect(view.composer.getAttribute("aria-describedby")).toBe(counter.id);
    expect(view.send.disabled).toBe(true);
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    view.composerForm.dispatchEvent(new Event("submit", { cancelable: true }));
    await settle();
    expect(ws.last("msg.send")).toBeUndefined();
    expect(view.composer.value).toHaveLength(4100);

    // Shortened to the limit, it goes.
    type(view, "a".repeat(4000));
    expect(view.send.disabled).toBe(false);
    expect(view.composer.hasAttribute("aria-invalid")).toBe(false);
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect((ws.last("msg.send")!.body as string).length).toBe(4000);
  });

  it("takes the limit from the widget config and counts characters as the server does", async () => {
    const { ws, view } = await activeChat({ message_max_chars: 100 }, "lt");
    const counter = root.querySelector<HTMLElement>('[data-testid="counter"]')!;
    // An emoji is one character (the server counts code points), not two UTF-16 units.
    type(view, "\u{1F600}".repeat(95));
    expect(counter.textContent).toBe("Liko simbolių: 5");
    type(view, "\u{1F600}".repeat(101));
    expect(counter.textContent).toBe("Žinutė per ilga: ne daugiau kaip 100 simbolių (per daug: 1).");
    expect(view.send.disabled).toBe(true);
    type(view, "\u{1F600}".repeat(100));
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(ws.last("msg.send")).toMatchObject({ body: "\u{1F600}".repeat(100) });
  });

  it("refuses an over-long first message in the pre-chat form, keeping it", async () => {
    const { ws, view } = await startChat(null, { message_max_chars: 10 });
    ws.receive({ t: "ack", id: ws.last("hello")!.id, visitor: "v_1", conversations: [] });
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    const message = form.querySelector<HTMLTextAreaElement>('textarea[name="message"]')!;
    expect(message.hasAttribute("maxlength")).toBe(false);
    message.value = "eleven char";
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(ws.last("chat.start")).toBeUndefined();
    expect(view.notice.hidden).toBe(false);
    expect(view.notice.textContent).toBe("This message is too long: at most 10 characters (1 too many).");
    expect(message.value).toBe("eleven char");
    message.value = "ten chars!";
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(ws.last("chat.start")).toMatchObject({ message: "ten chars!" });
  });

  it("asks before ending the chat, in place, with the focus on keeping it", async () => {
    const { ws, view } = await activeChat();
    const confirm = root.querySelector<HTMLElement>('[data-testid="end-confirmation"]')!;
    const keep = root.querySelector<HTMLButtonElement>('[data-testid="end-cancel"]')!;
    const yes = root.querySelector<HTMLButtonElement>('[data-testid="end-confirm"]')!;
    expect(confirm.hidden).toBe(true);

    // A tap on End chat only asks.
    view.end.click();
    expect(ws.last("chat.end")).toBeUndefined();
    expect(confirm.hidden).toBe(false);
    expect(view.end.hidden).toBe(true);
    expect(confirm.textContent).toContain("End this chat?");
    expect(document.activeElement).toBe(keep);
    // Messages arriving meanwhile do not undo the question.
    ws.receive(agentMsg(1, "Anything else?"));
    expect(confirm.hidden).toBe(false);

    // "Keep chatting" closes it and gives the focus back to the link.
    keep.click();
    expect(confirm.hidden).toBe(true);
    expect(view.end.hidden).toBe(false);
    expect(document.activeElement).toBe(view.end);

    // So does Escape.
    view.end.click();
    keep.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(confirm.hidden).toBe(true);
    expect(ws.last("chat.end")).toBeUndefined();

    // Confirmed, the chat ends.
    view.end.click();
    yes.click();
    const end = ws.last("chat.end")!;
    expect(end).toMatchObject({ conversation: "c_1" });
    ws.receive({ t: "ack", id: end.id, state: "closed" });
    await settle();
    expect(view.footer.hidden).toBe(true);
    expect(confirm.hidden).toBe(true);
  });

  it("marks and names a pre-chat field the server refused, instead of asking to try again", async () => {
    const { ws, view } = await startChat(null);
    ws.receive({ t: "ack", id: ws.last("hello")!.id, visitor: "v_1", conversations: [] });
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    const email = form.querySelector<HTMLInputElement>('input[name="email"]')!;
    email.value = "ona@example.com";
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const start = ws.last("chat.start")!;
    ws.receive({ t: "error", id: start.id, code: "invalid_frame", message: "email is too long", field: "fields.email" });
    await settle();
    expect(view.notice.textContent).toBe("Please check E-mail: it cannot be used as written.");
    expect(email.getAttribute("aria-invalid")).toBe("true");
    expect(document.activeElement).toBe(email);
    // Changing it clears the mark.
    email.dispatchEvent(new Event("input", { bubbles: true }));
    expect(email.hasAttribute("aria-invalid")).toBe(false);
  });

  it("says a refused chat start in minutes, as too many chats, not as typing too fast", async () => {
    const { ws, view } = await startChat(null);
    ws.receive({ t: "ack", id: ws.last("hello")!.id, visitor: "v_1", conversations: [] });
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    ws.receive({ t: "error", id: ws.last("chat.start")!.id, code: "rate_limited", message: "slow down", retry_after: 3355 });
    await settle();
    expect(view.notice.textContent).toBe("Too many chats have been started from here. Please try again in 56 min.");
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    ws.receive({ t: "error", id: ws.last("chat.start")!.id, code: "rate_limited", message: "slow down" });
    await settle();
    expect(view.notice.textContent).toBe("Too many chats have been started from here. Please try again later.");
  });

  it("drops the invisible controls the server refuses from what it sends", async () => {
    const { ws, view } = await startChat(null);
    ws.receive({ t: "ack", id: ws.last("hello")!.id, visitor: "v_1", conversations: [] });
    const form = root.querySelector<HTMLFormElement>('[data-testid="prechat"]')!;
    // A name and a number pasted from a phone's contacts come wrapped in direction isolates.
    (form.querySelector('input[name="name"]') as HTMLInputElement).value = "\u2068\u0623\u062d\u0645\u062f\u2069";
    (form.querySelector('textarea[name="message"]') as HTMLTextAreaElement).value = "Call me on \u2066+370 600 00000\u2069\r\nthanks";
    (form.querySelector('[data-testid="consent"]') as HTMLInputElement).checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const start = ws.last("chat.start")!;
    expect(start).toMatchObject({
      fields: { name: "\u0623\u062d\u0645\u062f" },
      message: "Call me on +370 600 00000\nthanks",
    });
    ws.receive({ t: "ack", id: start.id, conversation: "c_9", state: "waiting", seq: 1, queue: null });
    await settle();
    view.composer.value = "invoice_\u202egpj.exe \u0007";
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(ws.last("msg.send")).toMatchObject({ body: "invoice_gpj.exe" });
    // Nothing but controls: nothing to send.
    view.composer.value = "\u2066\u2069";
    view.composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(ws.sent.filter((f) => f.t === "msg.send")).toHaveLength(1);
  });

  it("follows a chat the visitor started in another tab, unless this tab's chat is still open", async () => {
    const { ws } = await startChat({ token: "vt_old", conversation: "c_1", seq: 0 });
    ws.receive({
      t: "ack",
      id: ws.last("hello")!.id,
      visitor: "v_1",
      conversations: [{ id: "c_1", state: "active", last_seq: 0, created_at: "x", agent: { name: "Jonas" } }],
    });
    const state = root.querySelector('[data-testid="state"]')!;
    const started = (id: string, seq = 1) => ({ t: "conv.state", conversation: id, seq, state: "waiting", agent: null, ts: "2026-01-01T10:00:00Z" });
    // This tab's chat is open: another one is not taken over.
    ws.receive(started("c_2"));
    expect(JSON.parse(localStorage.getItem("bastion:v1:w_1")!).conversation).toBe("c_1");
    expect(state.getAttribute("data-state")).toBe("active");

    // Ended here; the visitor starts a new chat in another tab: this tab shows it too.
    ws.receive({ t: "conv.state", conversation: "c_1", seq: 1, state: "closed", agent: null, ts: "x", reason: "visitor" });
    expect(root.querySelector('[data-testid="new-chat"]')).not.toBeNull();
    ws.receive(started("c_3"));
    await settle();
    expect(JSON.parse(localStorage.getItem("bastion:v1:w_1")!).conversation).toBe("c_3");
    expect(state.getAttribute("data-state")).toBe("waiting");
    expect(root.querySelector<HTMLElement>(".closed-panel")!.hidden).toBe(true);
    expect(root.querySelector<HTMLElement>(".footer")!.hidden).toBe(false);
  });

  it("asks in Lithuanian too", async () => {
    const { view } = await activeChat({}, "lt");
    view.end.click();
    const confirm = root.querySelector<HTMLElement>('[data-testid="end-confirmation"]')!;
    expect(confirm.textContent).toBe("Baigti šį pokalbį?Baigti pokalbįTęsti pokalbį");
  });
});
