/**
 * The frame's side of the conversation with the loader on the host page.
 *
 * Only messages from `window.parent` count. The origin of the first `bastion:init` becomes the
 * parent origin: later messages must come from it, and replies are posted to exactly it, never
 * to "*". Without an init within 1.5 s (the frame opened on its own, or an old loader) the host
 * page is taken from document.referrer, or our own location.
 */

export interface HostPage {
  url: string;
  title?: string;
  referrer?: string;
}

export interface ParentHandlers {
  onVisible(visible: boolean): void;
  onPage(page: HostPage): void;
}

export const INIT_TIMEOUT_MS = 1500;

export class ParentBridge {
  private origin: string | null = null;
  private readonly embedded = window.parent !== window;
  private handlers: ParentHandlers | null = null;
  private resolveInit: ((v: { page: HostPage; visible: boolean }) => void) | null = null;
  readonly ready: Promise<{ page: HostPage; visible: boolean }>;

  constructor() {
    this.ready = new Promise((resolve) => {
      this.resolveInit = resolve;
    });
    window.addEventListener("message", (e) => this.onMessage(e));
    window.setTimeout(() => this.fallback(), this.embedded ? INIT_TIMEOUT_MS : 0);
  }

  /** True when the frame runs inside the loader's iframe rather than on its own. */
  get isEmbedded(): boolean {
    return this.embedded;
  }

  listen(handlers: ParentHandlers): void {
    this.handlers = handlers;
  }

  post(message: { type: string; [key: string]: unknown }): void {
    if (!this.embedded || this.origin === null) return;
    window.parent.postMessage(message, this.origin);
  }

  private onMessage(e: MessageEvent): void {
    if (!this.embedded || e.source !== window.parent) return;
    const data = e.data as { type?: unknown; page?: unknown; visible?: unknown } | null;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    if (data.type === "bastion:init") {
      if (this.origin !== null && e.origin !== this.origin) return;
      this.origin = e.origin;
      const page = readPage(data.page) ?? { url: document.referrer || location.href };
      const visible = data.visible === true;
      if (this.resolveInit) {
        this.resolveInit({ page, visible });
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
    else if (data.type === "bastion:page") {
      const page = readPage(data.page);
      if (page) this.handlers?.onPage(page);
    }
  }

  private fallback(): void {
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
    this.resolveInit({ page, visible: !this.embedded });
    this.resolveInit = null;
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
