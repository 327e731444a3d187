/**
 * The frame's side of the conversation with the loader on the host page.
 *
 * Handshake: once the frame has its configuration it calls `announce()`, which posts
 * `bastion:ready` to the parent (the loader shows its launcher only then, and posts nothing to
 * the frame before). The loader answers with `bastion:init`: the host page, whether the panel is
 * open and, when the site vouches for its signed-in user, the identity statement.
 *
 * Only messages from `window.parent` count. The origin of the first `bastion:init` becomes the
 * parent origin: later messages must come from it, and replies are posted to exactly it, never
 * to "*". The ready message, sent before any init, goes to the parent's origin as the browser
 * reports it (`location.ancestorOrigins`, else the referrer, which the loader's
 * referrerpolicy="origin" reduces to the host page's origin); it carries nothing but the theme.
 * A frame the browser gives no storage (a third-party frame with third-party storage blocked)
 * says so in its ready (`storage: "parent"`); the loader then sends the widget's saved state in
 * the init and keeps what the frame posts back (`bastion:save`) in the host page's storage.
 * Without an init within 1.5 s of the ready (the frame opened on its own, or an old loader that
 * sent its init on the frame's load event, which is taken whenever it comes) the host page is
 * taken from document.referrer, or our own location.
 */

export interface HostPage {
  url: string;
  title?: string;
  referrer?: string;
}

/** What the host page says about its signed-in user (from the snippet's data attributes). */
export interface Identity {
  user_id?: string;
  user_hash?: string;
  identity_jwt?: string;
}

export interface InitData {
  page: HostPage;
  visible: boolean;
  identity: Identity | null;
  /** The widget's saved state from the host page's storage (only when the frame asked). */
  saved: string | null;
}

export interface ParentHandlers {
  onVisible(visible: boolean): void;
  onPage(page: HostPage): void;
}

export const INIT_TIMEOUT_MS = 1500;

/** Longest identity value passed on (the server's own limits are lower; it answers for them). */
const MAX_IDENTITY_CHARS = 8192;
const IDENTITY_KEYS = ["user_id", "user_hash", "identity_jwt"] as const;
/** Longest saved state taken from the host page (a token, two ids, two numbers). */
export const MAX_SAVED_CHARS = 2048;

export class ParentBridge {
  private origin: string | null = null;
  private readonly embedded = window.parent !== window;
  private handlers: ParentHandlers | null = null;
  /** Called with the saved state another tab of the host site wrote (`bastion:saved`). */
  onSaved: ((value: string | null) => void) | null = null;
  private resolveInit: ((v: InitData) => void) | null = null;
  private fallbackTimer: ReturnType<typeof setTimeout> | null = null;
  readonly ready: Promise<InitData>;

  constructor() {
    this.ready = new Promise((resolve) => {
      this.resolveInit = resolve;
    });
    window.addEventListener("message", (e) => this.onMessage(e));
    // On its own (not in an iframe) there is nobody to wait for.
    if (!this.embedded) window.setTimeout(() => this.fallback(), 0);
  }

  /** True when the frame runs inside the loader's iframe rather than on its own. */
  get isEmbedded(): boolean {
    return this.embedded;
  }

  listen(handlers: ParentHandlers): void {
    this.handlers = handlers;
  }

  /**
   * Tells the loader that the frame works (`bastion:ready`, with the theme), then waits up to
   * INIT_TIMEOUT_MS for its init before falling back.
   */
  announce(message: { color: string | null; label: string; storage?: "parent" }): void {
    if (!this.embedded) return;
    const target = this.origin ?? parentOrigin();
    if (target !== null) window.parent.postMessage({ type: "bastion:ready", ...message }, target);
    if (this.resolveInit && this.fallbackTimer === null) {
      this.fallbackTimer = window.setTimeout(() => this.fallback(), INIT_TIMEOUT_MS);
    }
  }

  post(message: { type: string; [key: string]: unknown }): void {
    if (!this.embedded || this.origin === null) return;
    window.parent.postMessage(message, this.origin);
  }

  private onMessage(e: MessageEvent): void {
    if (!this.embedded || e.source !== window.parent) return;
    const data = e.data as { type?: unknown; page?: unknown; visible?: unknown; identity?: unknown } | null;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    if (data.type === "bastion:init") {
      if (this.origin !== null && e.origin !== this.origin) return;
      this.origin = e.origin;
      const page = readPage(data.page) ?? { url: document.referrer || location.href };
      const visible = data.visible === true;
      if (this.resolveInit) {
        if (this.fallbackTimer !== null) clearTimeout(this.fallbackTimer);
        this.fallbackTimer = null;
        const saved = (data as { saved?: unknown }).saved;
        this.resolveInit({
          page,
          visible,
          identity: readIdentity(data.identity),
          saved: typeof saved === "string" && saved.length <= MAX_SAVED_CHARS ? saved : null,
        });
        this.resolveInit = null;
      } else {
        // The frame was already running (fallback fired first): treat it as an update.
        this.handlers?.onPage(page);
        this.handlers?.onVisible(visible);
      }
      return;
    }
    if (this.origin === null || e.origin !== this.origin) return;
    if (data.type === "bastion:visible") this.handlers?.onVisible(data.visible === true);
    else if (data.type === "bastion:saved") {
      const value = (data as { value?: unknown }).value;
      if (value === null || (typeof value === "string" && value.length <= MAX_SAVED_CHARS)) this.onSaved?.(value);
    }
    else if (data.type === "bastion:page") {
      const page = readPage(data.page);
      if (page) this.handlers?.onPage(page);
    }
  }

  private fallback(): void {
    this.fallbackTimer = null;
    if (!this.resolveInit) return;
    let page: HostPage = { url: location.href };
    if (document.referrer) {
      page = { url: document.referrer };
      // With referrerpolicy="origin" on the iframe, the referrer is the host page's origin,
      // which is also where replies may go.
      try {
        this.origin ??= new URL(document.referrer).origin;
      } catch {
        // not a URL: no replies
      }
    }
    this.resolveInit({ page, visible: !this.embedded, identity: null, saved: null });
    this.resolveInit = null;
  }
}

/** The embedding page's origin as the browser reports it, or null if it does not say. */
function parentOrigin(): string | null {
  const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  const first = ancestors && ancestors.length > 0 ? ancestors.item(0) : null;
  if (first && first !== "null") return first;
  try {
    const origin = document.referrer ? new URL(document.referrer).origin : "null";
    return origin === "null" ? null : origin;
  } catch {
    return null;
  }
}

function readPage(value: unknown): HostPage | null {
  if (!value || typeof value !== "object") return null;
  const p = value as { url?: unknown; title?: unknown; referrer?: unknown };
  if (typeof p.url !== "string" || p.url.length > 2048) return null;
  const page: HostPage = { url: p.url };
  if (typeof p.title === "string") page.title = p.title.slice(0, 512);
  if (typeof p.referrer === "string" && p.referrer) page.referrer = p.referrer.slice(0, 2048);
  return page;
}

/** Keeps the known string fields only; null when none is given. */
export function readIdentity(value: unknown): Identity | null {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  const identity: Identity = {};
  for (const key of IDENTITY_KEYS) {
    const field = v[key];
    if (typeof field === "string" && field && field.length <= MAX_IDENTITY_CHARS) identity[key] = field;
  }
  return Object.keys(identity).length > 0 ? identity : null;
}
