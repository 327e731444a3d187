import { describe, expect, it } from "vitest";
import { attentionCount, attentionNews, attentionOf, initialState, myList, reducer, resumeMap, teamList, waitingList, type Action, type ConsoleState } from "../console/state";
import type { AgentInfo, ConvStateEvent, ConvSummary, MsgEvent, NoteEvent } from "../shared/protocol";

const me: AgentInfo = { id: "u_me", name: "Jonas", role: "agent", status: "online" };
const visitor = { id: "v_1", name: "Ona", email: "ona@example.com", verified: false };

function summary(id: string, state: ConvSummary["state"], extra: Partial<ConvSummary> = {}): ConvSummary {
  return { id, state, last_seq: 1, created_at: `2026-01-01T00:00:0${id.slice(-1)}Z`, agent: null, visitor, preview: "", ...extra };
}

function stateEv(conversation: string, seq: number, state: ConvStateEvent["state"], agentId?: string): ConvStateEvent {
  return {
    t: "conv.state",
    conversation,
    seq,
    state,
    agent: agentId ? { id: agentId, name: agentId === me.id ? me.name : "Other" } : null,
    ts: "2026-01-01T00:00:10Z",
    visitor,
  };
}

function msg(conversation: string, seq: number, kind: "visitor" | "agent", body = "hi"): MsgEvent {
  return {
    t: "msg",
    conversation,
    seq,
    message: { id: `m_${seq}`, author: { kind, name: kind === "agent" ? "Jonas" : "Ona" }, body, ts: "2026-01-01T00:00:11Z" },
  };
}

function run(...actions: Action[]): ConsoleState {
  return actions.reduce(reducer, initialState);
}

const ready = (conversations: ConvSummary[]): Action => ({ type: "ready", agent: me, conversations });
const live = (conversation: string, ...events: (MsgEvent | ConvStateEvent | NoteEvent)[]): Action => ({
  type: "events",
  conversation,
  events,
  live: true,
});

describe("console state", () => {
  it("splits the hello ack into the waiting queue and my chats", () => {
    const s = run(ready([summary("c_2", "waiting"), summary("c_1", "waiting"), summary("c_3", "active", { agent: { name: "Jonas" } })]));
    expect(waitingList(s).map((c) => c.id)).toEqual(["c_1", "c_2"]);
    expect(myList(s).map((c) => c.id)).toEqual(["c_3"]);
  });

  it("forgets an erased visitor's chats, pages and site entry", () => {
    const other = { ...visitor, id: "v_other", name: "Petras" };
    let s = run(ready([summary("c_1", "waiting"), summary("c_2", "waiting", { visitor: other })]));
    s = reducer(s, { type: "page", event: { t: "visitor.page", visitor: visitor.id, url: "https://shop.example/", title: null, ts: "2026-01-01T10:00:00Z" }, now: 0 });
    s = reducer(s, { type: "select", conversation: "c_1" });
    s = reducer(s, { type: "erased", visitor: visitor.id });
    expect(Object.keys(s.conversations)).toEqual(["c_2"]);
    expect(s.pages[visitor.id]).toBeUndefined();
    expect(s.site.some((e) => e.visitor === visitor.id)).toBe(false);
    expect(s.selected).toBeNull();
    // Nothing of theirs left: the same state back.
    expect(reducer(s, { type: "erased", visitor: visitor.id })).toBe(s);
  });

  it("lists colleagues' active chats apart from mine (a supervisor's view)", () => {
    const s = run(
      ready([
        summary("c_1", "active", { agent: { id: "u_other", name: "Petras" } }),
        summary("c_2", "active", { agent: { id: me.id, name: me.name } }),
        summary("c_3", "waiting"),
      ]),
    );
    expect(teamList(s).map((c) => c.id)).toEqual(["c_1"]);
    expect(myList(s).map((c) => c.id)).toEqual(["c_2"]);
    // Closed, it leaves the list.
    const closed = reducer(s, live("c_1", stateEv("c_1", 9, "closed")));
    expect(teamList(closed)).toEqual([]);
  });

  it("adds new waiting chats and removes ones accepted by someone else or closed", () => {
    let s = run(ready([]), live("c_1", stateEv("c_1", 1, "waiting")), live("c_2", stateEv("c_2", 1, "waiting")));
    expect(waitingList(s).map((c) => c.id)).toEqual(["c_1", "c_2"]);
    expect(s.conversations.c_1?.visitor).toEqual(visitor);
    s = reducer(s, live("c_1", stateEv("c_1", 2, "active", "u_other")));
    s = reducer(s, live("c_2", stateEv("c_2", 2, "closed")));
    expect(waitingList(s)).toEqual([]);
    expect(myList(s)).toEqual([]);
  });

  it("moves a chat I accept to my chats", () => {
    let s = run(ready([summary("c_1", "waiting")]));
    s = reducer(s, { type: "accepted", conversation: "c_1", seq: 2 });
    expect(myList(s).map((c) => c.id)).toEqual(["c_1"]);
    s = reducer(s, live("c_1", stateEv("c_1", 2, "active", me.id)));
    expect(s.conversations.c_1).toMatchObject({ state: "active", mine: true });
    expect(waitingList(s)).toEqual([]);
  });

  it("marks unread visitor messages on chats not selected, and clears on select", () => {
    let s = run(ready([summary("c_1", "active"), summary("c_2", "active")]), { type: "select", conversation: "c_1" });
    s = reducer(s, live("c_1", msg("c_1", 2, "visitor")));
    s = reducer(s, live("c_2", msg("c_2", 2, "visitor", "need help")));
    s = reducer(s, live("c_2", msg("c_2", 3, "agent")));
    expect(s.conversations.c_1?.unread).toBe(false);
    expect(s.conversations.c_2?.unread).toBe(true);
    expect(s.conversations.c_2?.preview).toBe("hi");
    s = reducer(s, { type: "select", conversation: "c_2" });
    expect(s.conversations.c_2?.unread).toBe(false);
  });

  it("counts for the tab title the waiting chats and my chats with unread messages", () => {
    let s = run(
      ready([summary("c_1", "active"), summary("c_2", "active"), summary("c_3", "waiting")]),
      { type: "select", conversation: "c_1" },
    );
    expect(attentionCount(s)).toBe(1); // the queue
    s = reducer(s, live("c_2", msg("c_2", 2, "visitor", "are you there?")));
    expect(attentionCount(s)).toBe(2);
    s = reducer(s, live("c_1", msg("c_1", 2, "visitor"))); // the chat on screen
    expect(attentionCount(s)).toBe(2);
    s = reducer(s, { type: "select", conversation: "c_2" });
    expect(attentionCount(s)).toBe(1);
  });

  it("names what is new for a desktop notification: an unread chat of mine before the queue", () => {
    let s = run(ready([summary("c_1", "active"), summary("c_2", "active"), summary("c_3", "waiting")]), {
      type: "select",
      conversation: "c_1",
    });
    const before = attentionOf(s);
    expect(before).toEqual({ waiting: ["c_3"], unread: [] });
    expect(attentionNews(before, before)).toBeNull();
    s = reducer(s, live("c_2", msg("c_2", 2, "visitor")));
    expect(attentionNews(before, attentionOf(s))).toEqual({ kind: "message", conversation: "c_2", waiting: 1 });
    // A second message in a chat already unread is nothing new; a new chat in the queue is.
    const after = attentionOf(s);
    expect(attentionNews(after, attentionOf(reducer(s, live("c_2", msg("c_2", 3, "visitor")))))).toBeNull();
    expect(attentionNews(after, { ...after, waiting: ["c_3", "c_9"] })).toEqual({ kind: "waiting", conversation: "c_9", waiting: 2 });
    // Fewer (a chat taken, a message read): nothing.
    expect(attentionNews(after, { waiting: [], unread: [] })).toBeNull();
  });

  it("merges REST history with live events by seq", () => {
    let s = run(ready([summary("c_1", "active")]), live("c_1", msg("c_1", 5, "visitor", "live")));
    s = reducer(s, {
      type: "loaded",
      conversation: "c_1",
      events: [stateEv("c_1", 1, "waiting"), msg("c_1", 2, "visitor"), stateEv("c_1", 3, "active", me.id), msg("c_1", 5, "visitor", "rest")],
    });
    const c = s.conversations.c_1!;
    expect(c.loaded).toBe(true);
    expect(c.events.map((e) => e.seq)).toEqual([1, 2, 3, 5]);
    const last = c.events.at(-1);
    expect(last?.t === "msg" && last.message.body).toBe("live");
  });

  it("keeps drafts and note mode per conversation", () => {
    let s = run(ready([summary("c_1", "active"), summary("c_2", "active")]));
    s = reducer(s, { type: "draft", conversation: "c_1", text: "half-written" });
    s = reducer(s, { type: "draft", conversation: "c_2", noteMode: true });
    s = reducer(s, { type: "select", conversation: "c_2" });
    s = reducer(s, { type: "select", conversation: "c_1" });
    expect(s.conversations.c_1).toMatchObject({ draft: "half-written", noteMode: false });
    expect(s.conversations.c_2).toMatchObject({ draft: "", noteMode: true });
  });

  it("drops a pending message once its event arrives", () => {
    let s = run(ready([summary("c_1", "active")]));
    s = reducer(s, { type: "pending", conversation: "c_1", item: { localId: "l1", kind: "note", body: "n", seq: null, error: null } });
    s = reducer(s, { type: "pendingAck", conversation: "c_1", localId: "l1", seq: 4 });
    expect(s.conversations.c_1?.pending).toHaveLength(1);
    const note: NoteEvent = {
      t: "note",
      conversation: "c_1",
      seq: 4,
      note: { id: "n_4", author: { kind: "agent", name: "Jonas" }, body: "n", ts: "2026-01-01T00:00:12Z" },
    };
    s = reducer(s, live("c_1", note));
    expect(s.conversations.c_1?.pending).toHaveLength(0);
  });

  it("shows the masked body of a redacted ack instead of what was typed", () => {
    let s = run(ready([summary("c_1", "active")]));
    s = reducer(s, { type: "pending", conversation: "c_1", item: { localId: "l1", kind: "msg", body: "4111111111111111", seq: null, error: null } });
    s = reducer(s, { type: "pendingAck", conversation: "c_1", localId: "l1", seq: 4, body: "[card •••• 1111]" });
    expect(s.conversations.c_1?.pending[0]?.body).toBe("[card •••• 1111]");
  });

  it("resumes open conversations from their last seq", () => {
    let s = run(ready([summary("c_1", "active"), summary("c_2", "waiting")]));
    expect(resumeMap(s)).toEqual({});
    s = reducer(s, live("c_1", msg("c_1", 6, "visitor")));
    s = reducer(s, live("c_3", stateEv("c_3", 1, "waiting"), stateEv("c_3", 2, "closed")));
    expect(resumeMap(s)).toEqual({ c_1: 6 });
  });

  it("keeps the selected chat across a reconnect even if the server no longer lists it", () => {
    let s = run(ready([summary("c_1", "active")]), { type: "select", conversation: "c_1" });
    s = reducer(s, ready([]));
    expect(s.conversations.c_1).toBeDefined();
  });

  it("does not put a chat it knows nothing about into the queue", () => {
    const s = run(ready([]), live("c_9", msg("c_9", 4, "visitor")));
    expect(waitingList(s)).toEqual([]);
  });
});
