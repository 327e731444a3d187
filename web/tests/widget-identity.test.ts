import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ParentBridge, readIdentity } from "../widget/frame/parent";
import { connect, SESSION_OK, settle, sockets, startFrame, stubFetch } from "./frame-harness";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzQyIn0.c2ln";
const IDENTITY_INVALID = { status: 401, body: { code: "identity_invalid", message: "the visitor's identity could not be verified" } };
const IDENTITY_REQUIRED = { status: 401, body: { code: "identity_required", message: "this chat is only for signed-in customers" } };

describe("identity from the host page", () => {
  beforeEach(() => {
    sockets.length = 0;
    localStorage.clear();
    document.body.replaceChildren();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("sends the statement in the session POST body, never in the URL", async () => {
    const calls = stubFetch([{ ...SESSION_OK, body: { ...SESSION_OK.body, verified: true } }]);
    await startFrame({ identity: { user_id: "u_42", user_hash: "1767225600.abc" } });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe("/api/v1/widgets/w_1/sessions");
    expect(calls[0]!.body).toEqual({ page_url: "https://shop.example/cart", user_id: "u_42", user_hash: "1767225600.abc" });
    expect(sockets[0]!.url).not.toContain("u_42");
  });

  it("sends a JWT along with the stored token", async () => {
    const calls = stubFetch([SESSION_OK]);
    await startFrame({ stored: { token: "vt_old", conversation: null, seq: 0 }, identity: { identity_jwt: JWT } });
    expect(calls[0]!.body).toEqual({ page_url: "https://shop.example/cart", identity_jwt: JWT, resume_token: "vt_old" });
  });

  it("sends no identity fields when the page gave none", async () => {
    const calls = stubFetch([SESSION_OK]);
    await startFrame();
    expect(calls[0]!.body).toEqual({ page_url: "https://shop.example/cart" });
  });

  for (const [name, answer] of [
    ["identity_invalid", IDENTITY_INVALID],
    ["identity_required", IDENTITY_REQUIRED],
  ] as const) {
    it(`on ${name} asks the visitor to sign in again, once, and opens no socket`, async () => {
      // Even with a stored token, which otherwise gets one retry without it.
      const calls = stubFetch([answer, SESSION_OK]);
      const { root, view } = await startFrame({
        stored: { token: "vt_old", conversation: "c_1", seq: 3 },
        identity: { identity_jwt: JWT },
      });
      await new Promise((r) => setTimeout(r, 50));
      await settle();
      expect(calls).toHaveLength(1);
      expect(view.notice.hidden).toBe(false);
      expect(view.notice.textContent).toBe("Please sign in again to chat.");
      // Neutral: not the server's wording.
      expect(view.notice.textContent).not.toContain("verified");
      expect(sockets).toHaveLength(0);
      expect(root.querySelector('[data-testid="prechat"]')).toBeNull();
      expect(view.footer.hidden).toBe(true);
      expect(view.connection.hidden).toBe(true);
    });
  }

  it("does not send a used statement again when the token is later refused", async () => {
    const calls = stubFetch([SESSION_OK, IDENTITY_REQUIRED]);
    const { view } = await startFrame({ identity: { identity_jwt: JWT } });
    const ws = await connect([]);
    expect(calls).toHaveLength(1);
    // The connection drops; on reconnecting, the server refuses the token.
    ws.readyState = 3;
    ws.onclose?.({ code: 1006 } as CloseEvent);
    await new Promise((r) => setTimeout(r, 1100));
    const ws2 = sockets.at(-1)!;
    ws2.open();
    await settle();
    ws2.receive({ t: "error", id: ws2.last("hello")!.id, code: "not_authenticated", message: "bad token" });
    await new Promise((r) => setTimeout(r, 20));
    await settle();
    // One new session request, with the token alone: the JWT was good for one use.
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body).toEqual({ page_url: "https://shop.example/cart", resume_token: "vt_new" });
    expect(view.notice.textContent).toBe("Please sign in again to chat.");
    expect(view.footer.hidden).toBe(true);
    // And no loop: nothing more is requested.
    await new Promise((r) => setTimeout(r, 1200));
    expect(calls).toHaveLength(2);
    expect(sockets).toHaveLength(2);
  });
});

describe("the frame's handshake with the loader", () => {
  const HOST = "https://shop.example";
  let fakeParent: { postMessage: ReturnType<typeof vi.fn> };

  beforeEach(() => {
    fakeParent = { postMessage: vi.fn() };
    vi.spyOn(window, "parent", "get").mockReturnValue(fakeParent as unknown as Window);
    vi.spyOn(document, "referrer", "get").mockReturnValue(`${HOST}/`);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  function fromParent(data: unknown, origin = HOST): void {
    window.dispatchEvent(new MessageEvent("message", { data, origin, source: fakeParent as unknown as Window }));
  }

  it("says ready (with the theme) to the host page's origin, then takes the init's identity", async () => {
    const bridge = new ParentBridge();
    expect(fakeParent.postMessage).not.toHaveBeenCalled();
    bridge.announce({ color: "#112233", label: "Chat" });
    expect(fakeParent.postMessage).toHaveBeenCalledWith({ type: "bastion:ready", color: "#112233", label: "Chat" }, HOST);
    // Another window's init does not count.
    window.dispatchEvent(
      new MessageEvent("message", { data: { type: "bastion:init", identity: { user_id: "evil" } }, origin: HOST, source: window }),
    );
    fromParent({
      type: "bastion:init",
      page: { url: `${HOST}/cart`, title: "Cart" },
      visible: true,
      identity: { user_id: "u_42", user_hash: "1.abc", identity_jwt: 42, extra: "x" },
    });
    const init = await bridge.ready;
    expect(init).toEqual({
      page: { url: `${HOST}/cart`, title: "Cart" },
      visible: true,
      identity: { user_id: "u_42", user_hash: "1.abc" },
      saved: null,
    });
    bridge.post({ type: "bastion:open" });
    expect(fakeParent.postMessage).toHaveBeenLastCalledWith({ type: "bastion:open" }, HOST);
  });

  it("takes the host page's copy of the saved state for a frame without storage, and later copies", async () => {
    const bridge = new ParentBridge();
    bridge.announce({ color: null, label: "Chat", storage: "parent" });
    expect(fakeParent.postMessage).toHaveBeenCalledWith({ type: "bastion:ready", color: null, label: "Chat", storage: "parent" }, HOST);
    fromParent({ type: "bastion:init", page: { url: `${HOST}/` }, visible: false, saved: '{"token":"vt_1"}' });
    expect((await bridge.ready).saved).toBe('{"token":"vt_1"}');
    const seen: (string | null)[] = [];
    bridge.onSaved = (value) => seen.push(value);
    fromParent({ type: "bastion:saved", value: '{"token":"vt_2"}' });
    fromParent({ type: "bastion:saved", value: '{"token":"evil"}' }, "https://evil.example");
    fromParent({ type: "bastion:saved", value: "x".repeat(5000) });
    fromParent({ type: "bastion:saved", value: null });
    expect(seen).toEqual(['{"token":"vt_2"}', null]);
  });

  it("falls back without identity when no init comes within 1.5 s of the ready", async () => {
    vi.useFakeTimers();
    const bridge = new ParentBridge();
    // Config loading may take long: the wait starts at the ready, not at construction.
    vi.advanceTimersByTime(5000);
    let done = false;
    void bridge.ready.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    bridge.announce({ color: null, label: "Chat" });
    vi.advanceTimersByTime(1600);
    const init = await bridge.ready;
    expect(init).toEqual({ page: { url: `${HOST}/` }, visible: false, identity: null, saved: null });
  });

  it("keeps only string identity fields", () => {
    expect(readIdentity(null)).toBeNull();
    expect(readIdentity({})).toBeNull();
    expect(readIdentity({ user_id: "", identity_jwt: ["x"] })).toBeNull();
    expect(readIdentity({ identity_jwt: "a.b.c", user_id: 7 })).toEqual({ identity_jwt: "a.b.c" });
  });
});
