/**
 * The visitor's saved state for one widget, in localStorage under `bastion:v1:{widget}`:
 * the session token, the current conversation, the last seq received and the last seq read.
 * Storage can be unavailable: privacy modes, and browsers that refuse storage to a frame from
 * another site than the page (third-party storage blocked, as Chromium does with third-party
 * cookies off). Then the loader keeps it in the host page's storage for the frame
 * (`ParentStorage`, only in that case; docs/security.md says what that costs); with an old
 * loader, or no storage there either, the state lives for the page only.
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

  constructor(widget: string, private readonly storage: SavedStorage | null = safeLocalStorage()) {
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

/** The frame's own localStorage, or null when the browser refuses it. */
export function safeLocalStorage(): Storage | null {
  try {
    const storage = window.localStorage;
    // Some browsers hand out the object and refuse at the first use.
    storage.getItem("bastion:probe");
    return storage;
  } catch {
    return null;
  }
}

/** The part of the Storage interface the Store uses. */
export type SavedStorage = Pick<Storage, "getItem" | "setItem">;

/**
 * The state kept by the loader in the host page's storage, for a frame that has none: the
 * loader hands the saved value over in its init, and every change goes back to it
 * (`bastion:save`). One key, the widget's; nothing else of the host page's storage is read.
 */
export class ParentStorage implements SavedStorage {
  constructor(
    private value: string | null,
    private readonly save: (value: string) => void,
  ) {}

  getItem(): string | null {
    return this.value;
  }

  /** What another tab of the host site saved meanwhile (the loader passes it on). */
  replace(value: string | null): void {
    this.value = value;
  }

  setItem(_key: string, value: string): void {
    this.value = value;
    this.save(value);
  }
}
