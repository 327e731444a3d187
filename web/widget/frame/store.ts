/**
 * The visitor's saved state for one widget, in localStorage under `bastion:v1:{widget}`:
 * the session token, the current conversation, the last seq received and the last seq read.
 * Storage can be unavailable (privacy modes, partitioned third-party storage); then the state
 * lives for the page only.
 */

export interface Saved {
  token: string | null;
  conversation: string | null;
  seq: number;
  /** Last seq the visitor has had on screen; later agent messages count as unread. */
  read: number;
}

const EMPTY: Saved = { token: null, conversation: null, seq: 0, read: 0 };

export class Store {
  private readonly key: string;
  private memory: Saved = { ...EMPTY };

  constructor(widget: string, private readonly storage: Storage | null = safeLocalStorage()) {
    this.key = `bastion:v1:${widget}`;
    this.memory = this.read();
  }

  get value(): Saved {
    return this.memory;
  }

  /** Re-reads storage: another tab of the same site may have stored a newer token. */
  reload(): void {
    this.memory = this.read();
  }

  update(patch: Partial<Saved>): void {
    // Another tab of the site may have stored a newer token since this one read it (opening
    // a session rotates the token; the old one lasts a minute). Writing this tab's copy over
    // it would leave a token the server no longer takes, and the next page load would start
    // a new visitor without the chat. So the stored token wins unless this update sets one.
    const stored = this.read().token;
    const base = stored ? { ...this.memory, token: stored } : this.memory;
    this.memory = { ...base, ...patch };
    try {
      this.storage?.setItem(this.key, JSON.stringify(this.memory));
    } catch {
      // Quota or privacy mode: keep it in memory.
    }
  }

  private read(): Saved {
    try {
      const raw = this.storage?.getItem(this.key);
      if (!raw) return { ...EMPTY };
      const v = JSON.parse(raw) as Partial<Saved>;
      return {
        token: typeof v.token === "string" ? v.token : null,
        conversation: typeof v.conversation === "string" ? v.conversation : null,
        seq: typeof v.seq === "number" ? v.seq : 0,
        read: typeof v.read === "number" ? v.read : 0,
      };
    } catch {
      return { ...EMPTY };
    }
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
