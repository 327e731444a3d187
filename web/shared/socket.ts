/**
 * A reconnecting WebSocket client for Bastion's protocol.
 *
 * - Every (re)connect starts with the frame from the caller's `hello()` factory, so the caller
 *   can name its current resume map; other commands wait until the hello is acknowledged.
 * - `send()` gives each command a fresh id (crypto.randomUUID) and returns a promise that the
 *   matching `ack` resolves and the matching `error` rejects. Commands not yet answered when a
 *   socket drops are sent again, with the same id, after the next hello: the server treats the id
 *   as an idempotency key, so nothing is stored twice.
 * - Reconnects back off exponentially (1 s doubling to 30 s) with jitter; a ping goes out every
 *   25 s, and a socket that has heard nothing for 60 s is presumed dead and replaced.
 *
 * The WebSocket constructor, timers, clock and randomness are injected so tests can drive them.
 */
import type { AckFor, AckFrame, Command, ErrorFrame, Notice, ServerFrame } from "./protocol";
import { parseServerFrame } from "./protocol";

/** The part of the browser WebSocket this client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
}

export type WebSocketFactory = new (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): number;
}

export type HelloFrame = Extract<Command, { t: "hello" }>;
export type HelloAck = AckFor<HelloFrame>;

export type SocketStatus = "connecting" | "open" | "reconnecting" | "stopped";

export interface SocketOptions {
  /** Full ws:// or wss:// URL, or a function giving it (read on every connect). */
  url: string | (() => string);
  /** Called on every (re)connect; returns the hello frame (without id) to send first. */
  hello: () => HelloFrame | Promise<HelloFrame>;
  /** Called with the hello ack on every successful (re)connect, before queued commands go out. */
  onReady?: (ack: HelloAck) => void;
  /** Every server frame that is not the answer to one of our commands (events, pong, errors without id). */
  onFrame?: (frame: ServerFrame) => void;
  /**
   * The hello was refused (bad or expired credentials). The client stops reconnecting; call
   * `reconnect()` once the caller has fresh credentials.
   */
  onAuthError?: (error: ErrorFrame) => void;
  /**
   * The server will not serve this client now (`unavailable`: a ban, said neutrally), at hello
   * or on an open socket. The client stops reconnecting: retrying cannot help.
   */
  onUnavailable?: (error: ErrorFrame) => void;
  onStatus?: (status: SocketStatus) => void;
  WebSocket?: WebSocketFactory;
  timers?: Timers;
  random?: () => number;
  newId?: () => string;
}

export class CommandError extends Error {
  readonly code: string;
  readonly field: string | undefined;
  /** Seconds the server asks to wait before trying again (rate_limited). */
  readonly retryAfter: number | undefined;

  constructor(frame: Pick<ErrorFrame, "code" | "message" | "field" | "retry_after">) {
    super(frame.message);
    this.name = "CommandError";
    this.code = frame.code;
    this.field = frame.field;
    this.retryAfter = frame.retry_after;
  }
}

interface Pending {
  id: string;
  frame: string;
  resolve: (value: Record<string, unknown>) => void;
  reject: (reason: Error) => void;
}

export const PING_INTERVAL_MS = 25_000;
export const DEAD_AFTER_MS = 60_000;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

const OPEN = 1;

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (h) => globalThis.clearInterval(h as ReturnType<typeof globalThis.setInterval>),
  now: () => Date.now(),
};

/**
 * Delay before reconnect attempt `attempt` (0-based): the cap doubles from 1 s up to 30 s and
 * the actual delay is drawn from [cap/2, cap] so that many clients dropped together spread out.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(cap / 2 + random() * (cap / 2));
}

export class SocketClient {
  private readonly opts: SocketOptions;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly newId: () => string;
  private readonly Ctor: WebSocketFactory;

  private ws: WebSocketLike | null = null;
  private ready = false;
  private stopped = true;
  private attempt = 0;
  private helloId: string | null = null;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private lastHeard = 0;
  /** Commands waiting for their answer, in the order they were first sent. */
  private readonly pending = new Map<string, Pending>();
  private statusValue: SocketStatus = "stopped";
  private everOpen = false;

  constructor(opts: SocketOptions) {
    this.opts = opts;
    this.timers = opts.timers ?? defaultTimers;
    this.random = opts.random ?? Math.random;
    this.newId = opts.newId ?? (() => crypto.randomUUID());
    const Ctor = opts.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketFactory | undefined);
    if (!Ctor) throw new Error("WebSocket is not available");
    this.Ctor = Ctor;
  }

  get status(): SocketStatus {
    return this.statusValue;
  }

  /** True between a hello ack and the socket closing. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Commands sent but not yet acknowledged. */
  get pendingCount(): number {
    return this.pending.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  /** Closes the socket for good and rejects every unanswered command. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.drop(1000, "client stop");
    for (const p of this.pending.values()) p.reject(new Error("socket stopped"));
    this.pending.clear();
    this.setStatus("stopped");
  }

  /** Drops the current socket (if any) and connects again now, e.g. after fresh credentials. */
  reconnect(): void {
    this.stopped = false;
    this.attempt = 0;
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.drop(1000, "reconnect");
    this.connect();
  }

  /**
   * Sends a command and resolves with its ack. While the socket is down the command waits and
   * goes out after the next hello; if it was already sent, it is sent again with the same id.
   */
  send<C extends Exclude<Command, { t: "hello" }>>(command: C): Promise<AckFor<C>> {
    const id = this.newId();
    const frame = JSON.stringify({ ...command, id });
    return new Promise<AckFor<C>>((resolve, reject) => {
      this.pending.set(id, {
        id,
        frame,
        resolve: resolve as (value: Record<string, unknown>) => void,
        reject,
      });
      if (this.ready) this.transmit(frame);
    });
  }

  /** Sends a frame that has no answer (typing, page, ping). Dropped when not connected. */
  notify(frame: Notice): boolean {
    if (!this.ready) return false;
    return this.transmit(JSON.stringify(frame));
  }

  // -------------------------------------------------------------------------------------------

  private setStatus(status: SocketStatus): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.opts.onStatus?.(status);
  }

  private connect(): void {
    if (this.stopped) return;
    this.reconnectTimer = null;
    this.setStatus(this.everOpen ? "reconnecting" : "connecting");
    const url = typeof this.opts.url === "function" ? this.opts.url() : this.opts.url;
    let ws: WebSocketLike;
    try {
      ws = new this.Ctor(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastHeard = this.timers.now();
      void this.sendHello(ws);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ws !== this.ws) return;
      this.lastHeard = this.timers.now();
      this.handle(ev.data);
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.onDisconnected();
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting is handled there.
    };
  }

  private async sendHello(ws: WebSocketLike): Promise<void> {
    let hello: HelloFrame;
    try {
      hello = await this.opts.hello();
    } catch {
      if (ws !== this.ws) return;
      this.drop(4000, "hello factory failed");
      this.onDisconnected();
      return;
    }
    if (ws !== this.ws || ws.readyState !== OPEN) return;
    this.helloId = this.newId();
    this.transmit(JSON.stringify({ ...hello, id: this.helloId }));
  }

  private handle(data: unknown): void {
    const frame = parseServerFrame(data);
    if (frame === null) return;
    if ((frame.t === "ack" || frame.t === "error") && frame.id !== null && frame.id !== undefined) {
      if (frame.id === this.helloId) {
        this.helloId = null;
        if (frame.t === "ack") this.onHelloAck(frame);
        else this.onHelloError(frame);
        return;
      }
      const p = this.pending.get(frame.id);
      if (p) {
        this.pending.delete(frame.id);
        if (frame.t === "ack") p.resolve(frame);
        else p.reject(new CommandError(frame));
        return;
      }
    }
    if (frame.t === "pong") return;
    if (frame.t === "error" && frame.code === "unavailable") {
      this.giveUp(frame);
      return;
    }
    this.opts.onFrame?.(frame);
  }

  private onHelloAck(frame: AckFrame): void {
    this.ready = true;
    this.everOpen = true;
    this.attempt = 0;
    this.setStatus("open");
    this.startPing();
    const ack = frame as unknown as HelloAck;
    if (!Array.isArray(ack.conversations)) ack.conversations = [];
    this.opts.onReady?.(ack);
    // Re-send, in their original order and with their original ids, whatever is unanswered.
    for (const p of [...this.pending.values()]) {
      if (!this.ready) break;
      this.transmit(p.frame);
    }
  }

  private onHelloError(frame: ErrorFrame): void {
    if (frame.code === "not_authenticated") {
      // Retrying with the same credentials cannot help: wait for the caller.
      this.stopped = true;
      this.drop(1000, "not authenticated");
      this.clearTimers();
      this.setStatus("stopped");
      this.opts.onAuthError?.(frame);
      return;
    }
    if (frame.code === "unavailable") {
      this.giveUp(frame);
      return;
    }
    // Anything else (rate limiting, a server hiccup): try again later.
    this.drop(4000, "hello failed");
    this.onDisconnected();
  }

  private giveUp(frame: ErrorFrame): void {
    this.stop();
    this.opts.onUnavailable?.(frame);
  }

  private transmit(frame: string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  private startPing(): void {
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.pingTimer = this.timers.setInterval(() => {
      if (this.timers.now() - this.lastHeard > DEAD_AFTER_MS) {
        // Half-open connection: nothing heard, not even a pong. Replace it.
        this.drop(4000, "no answer");
        this.onDisconnected();
        return;
      }
      this.transmit(JSON.stringify({ t: "ping" }));
    }, PING_INTERVAL_MS);
  }

  private onDisconnected(): void {
    this.ready = false;
    this.helloId = null;
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.stopped) return;
    this.setStatus("reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer !== null) return;
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.reconnectTimer = this.timers.setTimeout(() => this.connect(), delay);
  }

  /** Detaches and closes the current socket without triggering its close handler. */
  private drop(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closed
    }
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    if (this.pingTimer !== null) this.timers.clearInterval(this.pingTimer);
    this.reconnectTimer = null;
    this.pingTimer = null;
  }
}
