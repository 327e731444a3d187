/**
 * The console's state and its reducer: pure functions from (state, action) to state, so that
 * switching between chats keeps each one's events, draft and unread mark, and so tests can
 * drive it without a DOM or a socket.
 */
import type {
  AgentInfo,
  AgentRef,
  AgentStatus,
  ConvState,
  ConvSummary,
  SeqEvent,
  VisitorPageEvent,
  VisitorRef,
} from "../shared/protocol";
import type { SocketStatus } from "../shared/socket";
import { lastSeq, mergeEvents } from "../shared/stream";

export interface PendingItem {
  localId: string;
  kind: "msg" | "note";
  body: string;
  /** Seq from the ack; the item disappears once the event with this seq is in the stream. */
  seq: number | null;
  error: string | null;
}

export interface Conversation {
  id: string;
  state: ConvState;
  agent: AgentRef | null;
  visitor: VisitorRef | null;
  createdAt: string;
  preview: string;
  /** True when assigned to the signed-in agent. */
  mine: boolean;
  /** The latest state change handed the active chat from one agent to another. */
  transferred: boolean;
  events: readonly SeqEvent[];
  /** The full history has been fetched over REST. */
  loaded: boolean;
  loadError: boolean;
  unread: boolean;
  visitorTyping: boolean;
  visitorTypingName: string | null;
  pending: readonly PendingItem[];
  draft: string;
  noteMode: boolean;
}

export interface PageView {
  url: string;
  title: string | null;
  /** When the visitor opened it (server time, ISO 8601); null if unknown. */
  ts: string | null;
}

/** A visitor seen browsing the site (a visitor.page event), for "On the site now". */
export interface SiteVisitor {
  visitor: string;
  url: string;
  title: string | null;
  ts: string;
  /** Our own clock when the event arrived: expiry does not depend on the server's clock. */
  seenAt: number;
}

/** "On the site now" keeps at most this many visitors ... */
export const SITE_MAX = 50;
/** ... seen within this long. */
export const SITE_TTL_MS = 10 * 60_000;

export interface ConsoleState {
  me: AgentInfo | null;
  status: AgentStatus;
  connection: SocketStatus;
  conversations: Readonly<Record<string, Conversation>>;
  selected: string | null;
  /** Latest page per visitor id, from conversation summaries and visitor.page events. */
  pages: Readonly<Record<string, PageView>>;
  /** Visitors browsing the site, most recent first, one entry each. */
  site: readonly SiteVisitor[];
}

export type Action =
  | { type: "connection"; status: SocketStatus }
  | { type: "ready"; agent: AgentInfo; conversations: ConvSummary[] }
  | {
      type: "events";
      conversation: string;
      events: SeqEvent[];
      live: boolean;
      /** The console is not on screen (another tab): even the open chat gets an unread mark. */
      away?: boolean;
    }
  | { type: "loaded"; conversation: string; events: SeqEvent[] }
  | { type: "loadFailed"; conversation: string }
  | { type: "select"; conversation: string | null }
  | { type: "typing"; conversation: string; on: boolean; name: string | null }
  | { type: "page"; event: VisitorPageEvent; now?: number }
  | { type: "prune"; now: number }
  | { type: "erased"; visitor: string }
  | { type: "status"; status: AgentStatus }
  | { type: "draft"; conversation: string; text?: string; noteMode?: boolean }
  | { type: "pending"; conversation: string; item: PendingItem }
  | { type: "pendingAck"; conversation: string; localId: string; seq: number; body?: string | undefined }
  | { type: "pendingFailed"; conversation: string; localId: string; error: string }
  | { type: "accepted"; conversation: string; seq: number }
  | { type: "transferred"; conversation: string; agent: AgentRef };

export const initialState: ConsoleState = {
  me: null,
  status: "online",
  connection: "connecting",
  conversations: {},
  selected: null,
  pages: {},
  site: [],
};

/** True when page view time `ts` is not older than `than` (unknown times count as new). */
function notOlder(ts: string | null, than: string | null | undefined): boolean {
  if (!than || !ts) return true;
  const a = Date.parse(ts);
  const b = Date.parse(than);
  return Number.isNaN(a) || Number.isNaN(b) || a >= b;
}

function pruneSite(site: readonly SiteVisitor[], now: number): readonly SiteVisitor[] {
  const kept = site.filter((e) => now - e.seenAt < SITE_TTL_MS);
  return kept.length === site.length ? site : kept;
}

function blank(id: string, createdAt: string): Conversation {
  return {
    id,
    state: "waiting",
    agent: null,
    visitor: null,
    createdAt,
    preview: "",
    mine: false,
    transferred: false,
    events: [],
    loaded: false,
    loadError: false,
    unread: false,
    visitorTyping: false,
    visitorTypingName: null,
    pending: [],
    draft: "",
    noteMode: false,
  };
}

function isMine(agent: AgentRef | null, me: AgentInfo | null): boolean {
  return agent !== null && me !== null && agent.id === me.id;
}

/** Merges events into a conversation and re-derives what they say (state, agent, preview). */
function withEvents(
  conv: Conversation,
  events: readonly SeqEvent[],
  me: AgentInfo | null,
  opts: { live: boolean; selected: boolean },
): Conversation {
  const merged = mergeEvents(conv.events, events);
  if (merged === conv.events) return conv;
  const fresh = new Set(events.map((e) => e.seq));
  const known = new Set(conv.events.map((e) => e.seq));
  let next: Conversation = { ...conv, events: merged };
  // State, agent and preview follow the latest event of each kind, whatever order they came in.
  let wasActive = false;
  for (const ev of merged) {
    if (ev.t === "conv.state") {
      // Active after active: the chat changed hands (conv.transfer).
      next.transferred = wasActive && ev.state === "active";
      wasActive = ev.state === "active";
      next.state = ev.state;
      next.agent = ev.agent;
      if (ev.visitor) next.visitor = ev.visitor;
      if (ev.agent) next.mine = isMine(ev.agent, me);
      else if (ev.state === "waiting") next.mine = false;
      if (ev.state === "closed" && fresh.has(ev.seq)) next.visitorTyping = false;
    } else if (ev.t === "msg") {
      next.preview = ev.message.body.slice(0, 120);
    }
  }
  const newVisitorMsg = merged.some(
    (e) => fresh.has(e.seq) && !known.has(e.seq) && e.t === "msg" && e.message.author.kind === "visitor",
  );
  if (opts.live && !opts.selected && newVisitorMsg) next.unread = true;
  if (newVisitorMsg) next = { ...next, visitorTyping: false };
  const seqs = new Set(merged.map((e) => e.seq));
  if (next.pending.some((p) => p.seq !== null && seqs.has(p.seq))) {
    next.pending = next.pending.filter((p) => p.seq === null || !seqs.has(p.seq));
  }
  return next;
}

function update(state: ConsoleState, id: string, fn: (c: Conversation) => Conversation): ConsoleState {
  const conv = state.conversations[id];
  if (!conv) return state;
  const next = fn(conv);
  if (next === conv) return state;
  return { ...state, conversations: { ...state.conversations, [id]: next } };
}

export function reducer(state: ConsoleState, action: Action): ConsoleState {
  switch (action.type) {
    case "connection":
      return state.connection === action.status ? state : { ...state, connection: action.status };

    case "ready": {
      const me = action.agent;
      const conversations: Record<string, Conversation> = {};
      const listed = new Set<string>();
      let pages = state.pages;
      for (const s of action.conversations) {
        listed.add(s.id);
        // The visitor's latest page, until a live visitor.page event says otherwise.
        const page = s.page;
        if (s.visitor && page && typeof page.url === "string" && notOlder(page.ts, pages[s.visitor.id]?.ts)) {
          pages = { ...pages, [s.visitor.id]: { url: page.url, title: page.title ?? null, ts: page.ts ?? null } };
        }
        const prev = state.conversations[s.id] ?? blank(s.id, s.created_at);
        conversations[s.id] = {
          ...prev,
          state: s.state,
          agent: s.agent,
          visitor: s.visitor ?? prev.visitor,
          createdAt: s.created_at,
          preview: s.preview ?? prev.preview,
          // The hello ack lists the waiting queue plus the chats assigned to this agent, so an
          // active one is ours even when the summary carries no agent id.
          mine: s.state !== "waiting" && (s.agent?.id === undefined ? true : s.agent.id === me.id),
        };
      }
      // Keep what the agent is looking at, and chats of ours that closed while we were away.
      for (const [id, conv] of Object.entries(state.conversations)) {
        if (listed.has(id)) continue;
        if (id === state.selected || (conv.mine && conv.loaded)) conversations[id] = conv;
      }
      return { ...state, me, status: me.status ?? state.status, conversations, pages };
    }

    case "events": {
      const existing = state.conversations[action.conversation];
      const first = action.events[0];
      let conv = existing;
      if (!conv) {
        conv = blank(action.conversation, first && "ts" in first ? first.ts : new Date().toISOString());
        // Unknown until a conv.state event says otherwise: keep it out of the waiting queue.
        if (!action.events.some((e) => e.t === "conv.state")) conv = { ...conv, state: "active" };
      }
      const next = withEvents(conv, action.events, state.me, {
        live: action.live,
        selected: state.selected === action.conversation && !action.away,
      });
      if (next === existing) return state;
      return { ...state, conversations: { ...state.conversations, [action.conversation]: next } };
    }

    case "loaded":
      return update(state, action.conversation, (c) => ({
        ...withEvents(c, action.events, state.me, { live: false, selected: true }),
        loaded: true,
        loadError: false,
      }));

    case "loadFailed":
      return update(state, action.conversation, (c) => ({ ...c, loadError: true }));

    case "select": {
      const next = { ...state, selected: action.conversation };
      if (action.conversation === null) return next;
      return update(next, action.conversation, (c) => (c.unread ? { ...c, unread: false } : c));
    }

    case "typing":
      return update(state, action.conversation, (c) =>
        c.visitorTyping === action.on && c.visitorTypingName === action.name
          ? c
          : { ...c, visitorTyping: action.on, visitorTypingName: action.name },
      );

    case "page": {
      const ev = action.event;
      if (typeof ev.visitor !== "string" || typeof ev.url !== "string") return state;
      const now = action.now ?? Date.now();
      const title = typeof ev.title === "string" ? ev.title : null;
      const ts = typeof ev.ts === "string" ? ev.ts : new Date(now).toISOString();
      const pages = notOlder(ts, state.pages[ev.visitor]?.ts)
        ? { ...state.pages, [ev.visitor]: { url: ev.url, title, ts } }
        : state.pages;
      const entry: SiteVisitor = { visitor: ev.visitor, url: ev.url, title, ts, seenAt: now };
      const others = pruneSite(state.site, now).filter((e) => e.visitor !== ev.visitor);
      return { ...state, pages, site: [entry, ...others].slice(0, SITE_MAX) };
    }

    case "erased": {
      // Everything shown of an erased person goes: their chats, pages and site entry.
      const gone = Object.values(state.conversations).filter((c) => c.visitor?.id === action.visitor);
      if (gone.length === 0 && !state.pages[action.visitor] && !state.site.some((e) => e.visitor === action.visitor)) {
        return state;
      }
      const conversations = { ...state.conversations };
      for (const c of gone) delete conversations[c.id];
      const pages = { ...state.pages };
      delete pages[action.visitor];
      const selected = state.selected !== null && conversations[state.selected] ? state.selected : null;
      const site = state.site.filter((e) => e.visitor !== action.visitor);
      return { ...state, conversations, pages, site, selected };
    }

    case "prune": {
      const site = pruneSite(state.site, action.now);
      return site === state.site ? state : { ...state, site };
    }

    case "status":
      return { ...state, status: action.status };

    case "draft":
      return update(state, action.conversation, (c) => ({
        ...c,
        draft: action.text ?? c.draft,
        noteMode: action.noteMode ?? c.noteMode,
      }));

    case "pending":
      return update(state, action.conversation, (c) => ({ ...c, pending: [...c.pending, action.item] }));

    case "pendingAck":
      return update(state, action.conversation, (c) => {
        const arrived = c.events.some((e) => e.seq === action.seq);
        return {
          ...c,
          pending: arrived
            ? c.pending.filter((p) => p.localId !== action.localId)
            : c.pending.map((p) =>
                // A redacted ack carries the stored (masked) body: show that, not the original.
                p.localId === action.localId ? { ...p, seq: action.seq, body: action.body ?? p.body } : p,
              ),
        };
      });

    case "pendingFailed":
      return update(state, action.conversation, (c) => ({
        ...c,
        pending: c.pending.map((p) => (p.localId === action.localId ? { ...p, error: action.error } : p)),
      }));

    case "accepted":
      // The conv.state event will say the same; this makes the UI move at once.
      return update(state, action.conversation, (c) =>
        c.state === "active" && c.mine
          ? c
          : {
              ...c,
              state: "active",
              mine: true,
              agent: state.me ? { id: state.me.id, name: state.me.name } : c.agent,
            },
      );

    case "transferred":
      // Likewise: the conv.state event follows, but the ack may come first.
      return update(state, action.conversation, (c) =>
        c.state === "active" ? { ...c, mine: isMine(action.agent, state.me), agent: action.agent, transferred: true } : c,
      );
  }
}

// --- selectors ---------------------------------------------------------------------------------

export function waitingList(state: ConsoleState): Conversation[] {
  return Object.values(state.conversations)
    .filter((c) => c.state === "waiting")
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function myList(state: ConsoleState): Conversation[] {
  return Object.values(state.conversations)
    .filter((c) => c.mine && c.state !== "waiting")
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * What waits for the agent, for the tab title: chats in the queue, plus their own chats
 * with a visitor message they have not looked at (an agent in another tab sees both).
 */
export function attentionCount(state: ConsoleState): number {
  return waitingList(state).length + myList(state).filter((c) => c.unread).length;
}

/** What needs the agent, by conversation: waiting in the queue, and their own unread. */
export interface Attention {
  waiting: string[];
  unread: string[];
}

export function attentionOf(state: ConsoleState): Attention {
  return {
    waiting: waitingList(state).map((c) => c.id),
    unread: myList(state)
      .filter((c) => c.unread)
      .map((c) => c.id),
  };
}

/** Something new since `before`, for a desktop notification: their own chat first. */
export interface AttentionNews {
  kind: "message" | "waiting";
  conversation: string;
  /** Chats waiting now (for "3 visitors are waiting"). */
  waiting: number;
}

export function attentionNews(before: Attention, after: Attention): AttentionNews | null {
  const fresh = (now: string[], then: string[]) => now.filter((id) => !then.includes(id));
  const message = fresh(after.unread, before.unread).at(-1);
  if (message) return { kind: "message", conversation: message, waiting: after.waiting.length };
  const waiting = fresh(after.waiting, before.waiting).at(-1);
  return waiting ? { kind: "waiting", conversation: waiting, waiting: after.waiting.length } : null;
}

/** Active chats colleagues hold (listed for those who may see all chats: supervisors). */
export function teamList(state: ConsoleState): Conversation[] {
  return Object.values(state.conversations)
    .filter((c) => c.state === "active" && !c.mine)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The resume map for a reconnect: every open conversation whose history we hold. */
export function resumeMap(state: ConsoleState): Record<string, number> {
  const resume: Record<string, number> = {};
  for (const c of Object.values(state.conversations)) {
    if (c.state !== "closed" && c.events.length > 0) resume[c.id] = lastSeq(c.events);
  }
  return resume;
}
