/** A widget frame under test: fake socket, fake fetch, fake parent (the loader), real DOM. */
import { vi } from "vitest";
import { type WidgetLanguage, widgetTables } from "../shared/i18n";
import type { WidgetConfig } from "../shared/protocol";
import type { WebSocketLike } from "../shared/socket";
import { WidgetChat } from "../widget/frame/chat";
import type { Identity, ParentBridge, ParentHandlers } from "../widget/frame/parent";
import { Store } from "../widget/frame/store";
import { buildView, type View } from "../widget/frame/view";

export const config: WidgetConfig = {
  id: "w_1",
  name: "Support",
  color: "#2f6fed",
  greeting: "Hi!",
  language: "en",
  prechat_fields: [{ name: "name", label: "Name", type: "text", required: false }],
  consent: { required: true, text: "I agree.", version: "2026-01", privacy_url: null },
  online: true,
};

export const sockets: FakeSocket[] = [];

export class FakeSocket implements WebSocketLike {
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
  last(t: string): Record<string, unknown> | undefined {
    return this.sent.filter((f) => f.t === t).at(-1);
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Stands in for the loader: records what the frame posts, lets the test say "visible". */
export class FakeParent {
  readonly posted: { type: string; [key: string]: unknown }[] = [];
  handlers: ParentHandlers | null = null;
  readonly isEmbedded = true;
  listen(handlers: ParentHandlers): void {
    this.handlers = handlers;
  }
  post(message: { type: string; [key: string]: unknown }): void {
    this.posted.push(message);
  }
  last(type: string): { type: string; [key: string]: unknown } | undefined {
    return this.posted.filter((m) => m.type === type).at(-1);
  }
}

export interface SessionCall {
  url: string;
  body: Record<string, unknown>;
}

export type SessionAnswer = { status: number; body: object };

/** Fakes fetch: session POSTs are answered from `answers` in turn (the last one repeats). */
export function stubFetch(answers: SessionAnswer[]): SessionCall[] {
  const calls: SessionCall[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      if (url.endsWith("/sessions")) {
        calls.push({ url, body: JSON.parse(String(init?.body)) as Record<string, unknown> });
        const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
        return new Response(JSON.stringify(answer.body), { status: answer.status });
      }
      return new Response(JSON.stringify({ events: [], last_seq: 0 }), { status: 200 });
    }),
  );
  return calls;
}

export const SESSION_OK: SessionAnswer = {
  status: 201,
  body: { token: "vt_new", visitor: "v_1", expires_at: "2030-01-01T00:00:00Z", verified: false },
};

/** A blank page for the next frame: no sockets, nothing stored, sessions answered OK. */
export function freshFrame(): void {
  sockets.length = 0;
  localStorage.clear();
  document.body.replaceChildren();
  stubFetch([SESSION_OK]);
}

/** The widget's configuration, when the frame reads it again, is `answer()`; sessions as stubbed. */
export function serveConfig(answer: () => object): void {
  const sessions = fetch;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      if (!url.endsWith("/config")) return sessions(url, init);
      return new Response(JSON.stringify(answer()), { status: 200 });
    }),
  );
}

export interface Harness {
  root: HTMLElement;
  view: View;
  parent: FakeParent;
  chat: WidgetChat;
}

export async function startFrame(
  options: {
    stored?: object | null;
    visible?: boolean;
    identity?: Identity | null;
    config?: Partial<WidgetConfig>;
    lang?: WidgetLanguage;
  } = {},
): Promise<Harness> {
  if (options.stored) localStorage.setItem("bastion:v1:w_1", JSON.stringify(options.stored));
  const root = document.createElement("div");
  document.body.appendChild(root);
  const lang = options.lang ?? "en";
  const t = widgetTables[lang];
  const view = buildView(root, t);
  const parent = new FakeParent();
  const chat = new WidgetChat({
    widget: "w_1",
    config: { ...config, ...options.config },
    t,
    lang,
    view,
    store: new Store("w_1"),
    parent: parent as unknown as ParentBridge,
    page: { url: "https://shop.example/cart", title: "Cart" },
    visible: options.visible ?? true,
    identity: options.identity ?? null,
    WebSocket: FakeSocket,
  });
  await chat.start();
  return { root, view, parent, chat };
}

/** Opens the socket and acknowledges the hello with `conversations`. */
export async function connect(conversations: object[] = []): Promise<FakeSocket> {
  const ws = sockets.at(-1)!;
  ws.open();
  await settle();
  ws.receive({ t: "ack", id: ws.last("hello")!.id, visitor: "v_1", conversations });
  await settle();
  return ws;
}
