import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  backoffDelay,
  CommandError,
  PING_INTERVAL_MS,
  SocketClient,
  type HelloFrame,
  type SocketOptions,
  type WebSocketLike,
} from "../shared/socket";

/** A scriptable stand-in for the browser WebSocket, injected through the constructor option. */
function fakeSockets() {
  const sockets: FakeSocket[] = [];
  class FakeSocket implements WebSocketLike {
    readyState = 0;
    sent: Record<string, unknown>[] = [];
    closed: number | null = null;
    onopen: ((ev: Event) => unknown) | null = null;
    onmessage: ((ev: MessageEvent) => unknown) | null = null;
    onclose: ((ev: CloseEvent) => unknown) | null = null;
    onerror: ((ev: Event) => unknown) | null = null;

    constructor(readonly url: string) {
      sockets.push(this);
    }
    send(data: string): void {
      if (this.readyState !== 1) throw new Error("not open");
      this.sent.push(JSON.parse(data) as Record<string, unknown>);
    }
    close(code = 1000): void {
      this.readyState = 3;
      this.closed = code;
    }
    // --- test controls ---
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
    framesOf(t: string): Record<string, unknown>[] {
      return this.sent.filter((f) => f.t === t);
    }
  }
  return { sockets, FakeSocket };
}

/** Lets pending promise callbacks (the async hello factory) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setup(overrides: Partial<SocketOptions> = {}) {
  const { sockets, FakeSocket } = fakeSockets();
  let n = 0;
  let resume: Record<string, number> = {};
  const hello = vi.fn((): HelloFrame => ({ t: "hello", token: "vt_test", resume: { ...resume } }));
  const onFrame = vi.fn();
  const onReady = vi.fn();
  const client = new SocketClient({
    url: "ws://bastion.test/ws/visitor",
    hello,
    onFrame,
    onReady,
    WebSocket: FakeSocket,
    random: () => 0.5,
    newId: () => `id-${++n}`,
    ...overrides,
  });
  const current = () => sockets[sockets.length - 1]!;
  /** Opens the newest socket and acknowledges its hello. */
  const connect = async (conversations: unknown[] = []) => {
    const ws = current();
    ws.open();
    await settle();
    const helloFrame = ws.framesOf("hello").at(-1)!;
    ws.receive({ t: "ack", id: helloFrame.id, visitor: "v_1", conversations });
    return ws;
  };
  return {
    client,
    sockets,
    current,
    connect,
    hello,
    onFrame,
    onReady,
    setResume: (r: Record<string, number>) => (resume = r),
  };
}

describe("SocketClient", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends hello first and holds commands until the hello is acknowledged", async () => {
    const { client, current, onReady } = setup();
    client.start();
    const ws = current();
    expect(ws.url).toBe("ws://bastion.test/ws/visitor");
    const p = client.send({ t: "msg.send", conversation: "c_1", body: "Hi" });
    ws.open();
    await settle();
    expect(ws.sent).toEqual([{ t: "hello", token: "vt_test", resume: {}, id: "id-2" }]);
    ws.receive({ t: "ack", id: "id-2", visitor: "v_1", conversations: [] });
    expect(onReady).toHaveBeenCalledWith(expect.objectContaining({ visitor: "v_1", conversations: [] }));
    expect(ws.sent[1]).toEqual({ t: "msg.send", conversation: "c_1", body: "Hi", id: "id-1" });
    ws.receive({ t: "ack", id: "id-1", message: "m_1", seq: 2 });
    await expect(p).resolves.toMatchObject({ message: "m_1", seq: 2 });
    expect(client.pendingCount).toBe(0);
  });

  it("resolves each command by its own ack and rejects by its own error", async () => {
    const { client, connect, onFrame } = setup();
    client.start();
    const ws = await connect();
    const a = client.send({ t: "msg.send", conversation: "c_1", body: "a" });
    const b = client.send({ t: "msg.send", conversation: "c_1", body: "b" });
    const c = client.send({ t: "chat.end", conversation: "c_1" });
    const [idA, idB, idC] = ws.sent.slice(1).map((f) => f.id);
    ws.receive({ t: "error", id: idB, code: "rate_limited", message: "slow down" });
    ws.receive({ t: "ack", id: "someone-else", seq: 99 });
    ws.receive({ t: "ack", id: idC, state: "closed" });
    ws.receive({ t: "ack", id: idA, message: "m_a", seq: 5 });
    await expect(a).resolves.toMatchObject({ seq: 5 });
    await expect(c).resolves.toMatchObject({ state: "closed" });
    const err = await b.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: "rate_limited", message: "slow down" });
    // An ack nobody waits for is passed on, not swallowed silently.
    expect(onFrame).toHaveBeenCalledWith(expect.objectContaining({ id: "someone-else" }));
  });

  it("re-sends unacknowledged commands with the same id after a reconnect", async () => {
    const { client, connect, sockets, current, hello, setResume } = setup();
    client.start();
    const first = await connect();
    const p = client.send({ t: "msg.send", conversation: "c_1", body: "Hello" });
    const sentId = first.sent.at(-1)!.id;
    first.drop();
    expect(client.isReady).toBe(false);

    // The next attempt waits for the backoff (1 s cap, half of it with random() = 0.5 → 750 ms).
    setResume({ c_1: 7 });
    await vi.advanceTimersByTimeAsync(749);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(2);

    const second = current();
    second.open();
    await settle();
    const helloFrame = second.framesOf("hello")[0]!;
    expect(helloFrame.resume).toEqual({ c_1: 7 });
    expect(helloFrame.id).not.toBe(first.framesOf("hello")[0]!.id);
    expect(hello).toHaveBeenCalledTimes(2);
    // Nothing but the hello before the hello is acknowledged.
    expect(second.sent).toHaveLength(1);
    second.receive({ t: "ack", id: helloFrame.id, visitor: "v_1", conversations: [] });
    const resent = second.framesOf("msg.send");
    expect(resent).toEqual([{ t: "msg.send", conversation: "c_1", body: "Hello", id: sentId }]);

    // The server answers the duplicate with the first result; the promise resolves once.
    second.receive({ t: "ack", id: sentId, message: "m_1", seq: 8 });
    await expect(p).resolves.toMatchObject({ message: "m_1", seq: 8 });
    second.receive({ t: "ack", id: sentId, message: "m_1", seq: 8 });
    expect(client.pendingCount).toBe(0);
  });

  it("does not re-send acknowledged commands", async () => {
    const { client, connect, current } = setup();
    client.start();
    const first = await connect();
    const p = client.send({ t: "rating", conversation: "c_1", score: "good" });
    first.receive({ t: "ack", id: first.sent.at(-1)!.id, seq: 3 });
    await p;
    first.drop();
    await vi.advanceTimersByTimeAsync(1000);
    const second = await connect();
    expect(second).toBe(current());
    expect(second.framesOf("rating")).toEqual([]);
  });

  it("backs off exponentially with jitter up to 30 s, and resets after a good hello", async () => {
    expect(backoffDelay(0, () => 0)).toBe(500);
    expect(backoffDelay(0, () => 1)).toBe(1000);
    expect(backoffDelay(1, () => 1)).toBe(2000);
    expect(backoffDelay(4, () => 1)).toBe(16000);
    expect(backoffDelay(5, () => 1)).toBe(30000);
    expect(backoffDelay(50, () => 1)).toBe(30000);
    expect(backoffDelay(50, () => 0)).toBe(15000);

    const { client, sockets, current } = setup({ random: () => 1 });
    client.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = sockets.length;
      current().drop();
      let waited = 0;
      while (sockets.length === before) {
        await vi.advanceTimersByTimeAsync(250);
        waited += 250;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it("pings every 25 s while connected and replaces a silent socket", async () => {
    const { client, connect, sockets } = setup();
    client.start();
    const ws = await connect();
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS);
    expect(ws.framesOf("ping")).toEqual([{ t: "ping" }]);
    ws.receive({ t: "pong" });
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS);
    expect(ws.framesOf("ping")).toHaveLength(2);
    // No pong, nothing at all for more than 60 s: the socket is presumed dead.
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS * 2);
    expect(ws.closed).not.toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets.length).toBe(2);
  });

  it("passes events to onFrame and ignores frames that are not JSON objects", async () => {
    const { client, connect, onFrame } = setup();
    client.start();
    const ws = await connect();
    ws.onmessage?.({ data: "not json" } as MessageEvent);
    ws.onmessage?.({ data: "[1,2]" } as MessageEvent);
    ws.receive({ t: "msg", conversation: "c_1", seq: "x", message: {} });
    const event = {
      t: "msg",
      conversation: "c_1",
      seq: 4,
      message: { id: "m_4", author: { kind: "agent", name: "Jonas" }, body: "Hi", ts: "2026-01-01T00:00:00Z" },
    };
    ws.receive(event);
    ws.receive({ t: "pong" });
    expect(onFrame).toHaveBeenCalledTimes(1);
    expect(onFrame).toHaveBeenCalledWith(event);
  });

  it("stops reconnecting when the hello is refused and waits for reconnect()", async () => {
    const onAuthError = vi.fn();
    const { client, current, sockets } = setup({ onAuthError });
    client.start();
    const ws = current();
    ws.open();
    await settle();
    ws.receive({ t: "error", id: ws.sent[0]!.id, code: "not_authenticated", message: "bad token" });
    expect(onAuthError).toHaveBeenCalledWith(expect.objectContaining({ code: "not_authenticated" }));
    expect(client.status).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    client.reconnect();
    expect(sockets).toHaveLength(2);
  });

  it("gives up for good when the server says unavailable, at hello or later", async () => {
    const onUnavailable = vi.fn();
    const onFrame = vi.fn();
    const { client, current, sockets } = setup({ onUnavailable, onFrame });
    client.start();
    let ws = current();
    ws.open();
    await settle();
    ws.receive({ t: "error", id: ws.sent[0]!.id, code: "unavailable", message: "Chat is not available right now." });
    expect(onUnavailable).toHaveBeenCalledTimes(1);
    expect(client.status).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);

    // On an open socket (a ban landed): the unsolicited error stops the client too.
    client.reconnect();
    ws = current();
    ws.open();
    await settle();
    ws.receive({ t: "ack", id: ws.sent[0]!.id, visitor: "v1", conversations: [] });
    expect(client.status).toBe("open");
    ws.receive({ t: "error", id: null, code: "unavailable", message: "Chat is not available right now." });
    expect(onUnavailable).toHaveBeenCalledTimes(2);
    expect(onFrame).not.toHaveBeenCalled();
    expect(client.status).toBe("stopped");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(2);
  });

  it("sends notices only while connected", async () => {
    const { client, current, connect } = setup();
    client.start();
    expect(client.notify({ t: "typing", conversation: "c_1", on: true })).toBe(false);
    const ws = await connect();
    expect(ws).toBe(current());
    expect(client.notify({ t: "typing", conversation: "c_1", on: true })).toBe(true);
    expect(ws.framesOf("typing")).toEqual([{ t: "typing", conversation: "c_1", on: true }]);
  });

  it("rejects unanswered commands on stop()", async () => {
    const { client, connect } = setup();
    client.start();
    await connect();
    const p = client.send({ t: "chat.end", conversation: "c_1" });
    client.stop();
    await expect(p).rejects.toThrow("socket stopped");
  });

  it("uses crypto.randomUUID for ids by default", async () => {
    const { sockets, FakeSocket } = fakeSockets();
    const client = new SocketClient({
      url: "ws://x/ws/visitor",
      hello: () => ({ t: "hello", token: "t", resume: {} }),
      WebSocket: FakeSocket,
    });
    client.start();
    sockets[0]!.open();
    await settle();
    expect(sockets[0]!.sent[0]!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u);
    client.stop();
  });
});
