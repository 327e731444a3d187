import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConversationView } from "../console/ConversationView";
import { initialState, myList, reducer, type Action, type ConsoleState, type Conversation } from "../console/state";
import { t } from "../console/strings";
import type { Colleague } from "../console/TransferDialog";
import type { Actions } from "../console/Workspace";
import { format } from "../shared/i18n";
import type { AgentInfo, ConvStateEvent } from "../shared/protocol";
import { CommandError } from "../shared/socket";

const me: AgentInfo = { id: "u_me", name: "Jonas", role: "agent", status: "online" };
const visitor = { id: "v_1", name: "Ona", email: null, verified: true };

function stateEv(seq: number, state: ConvStateEvent["state"], agent: { id: string; name: string } | null): ConvStateEvent {
  return { t: "conv.state", conversation: "c_1", seq, state, agent, ts: "2026-01-01T10:00:00Z", visitor };
}

const run = (...actions: Action[]): ConsoleState => actions.reduce(reducer, initialState);

/** A chat the signed-in agent accepted (seq 2), live over the socket. */
function held(): ConsoleState {
  return run(
    {
      type: "ready",
      agent: me,
      conversations: [{ id: "c_1", state: "waiting", last_seq: 1, created_at: "2026-01-01T09:00:00Z", agent: null, visitor }],
    },
    { type: "events", conversation: "c_1", events: [stateEv(1, "waiting", null)], live: true },
    { type: "events", conversation: "c_1", events: [stateEv(2, "active", { id: "u_me", name: "Jonas" })], live: true },
  );
}

describe("a transfer in the console state", () => {
  it("takes the chat out of My chats when the conv.state names someone else", () => {
    let s = held();
    expect(myList(s).map((c) => c.id)).toEqual(["c_1"]);
    expect(s.conversations.c_1).toMatchObject({ mine: true, transferred: false });
    s = reducer(s, {
      type: "events",
      conversation: "c_1",
      events: [stateEv(3, "active", { id: "u_petras", name: "Petras" })],
      live: true,
    });
    expect(s.conversations.c_1).toMatchObject({ state: "active", mine: false, transferred: true });
    expect(s.conversations.c_1!.agent).toEqual({ id: "u_petras", name: "Petras" });
    expect(myList(s)).toEqual([]);
  });

  it("moves at once on the ack, and the later event agrees", () => {
    let s = reducer(held(), { type: "transferred", conversation: "c_1", agent: { id: "u_petras", name: "Petras" } });
    expect(s.conversations.c_1).toMatchObject({ mine: false, transferred: true });
    s = reducer(s, {
      type: "events",
      conversation: "c_1",
      events: [stateEv(3, "active", { id: "u_petras", name: "Petras" })],
      live: true,
    });
    expect(s.conversations.c_1).toMatchObject({ mine: false, transferred: true });
  });

  it("is not a transfer when another agent takes a waiting chat", () => {
    const s = reducer(held(), {
      type: "events",
      conversation: "c_1",
      events: [stateEv(3, "closed", null), stateEv(4, "waiting", null), stateEv(5, "active", { id: "u_p", name: "P" })],
      live: true,
    });
    expect(s.conversations.c_1).toMatchObject({ mine: false, transferred: false });
  });

  it("a transferred chat is ours again when it comes back", () => {
    const s = reducer(held(), {
      type: "events",
      conversation: "c_1",
      events: [stateEv(3, "active", { id: "u_p", name: "P" }), stateEv(4, "active", { id: "u_me", name: "Jonas" })],
      live: true,
    });
    expect(s.conversations.c_1).toMatchObject({ mine: true, transferred: true });
    expect(myList(s).map((c) => c.id)).toEqual(["c_1"]);
  });
});

describe("the Transfer button and picker", () => {
  const colleagues: Colleague[] = [
    { id: "u_aud", name: "Audra", status: "offline", available: false },
    { id: "u_me", name: "Jonas", status: "online", available: true },
    { id: "u_petras", name: "Petras", status: "online", available: true },
    { id: "u_rasa", name: "Rasa", status: "away", available: false },
    // Chose online, but no console is open: shown (and sorted) as offline.
    { id: "u_vyt", name: "Vytas", status: "online", available: false },
  ];
  let root: HTMLDivElement;
  let actions: Actions;
  const q = <E extends Element = HTMLElement>(id: string) => root.querySelector<E>(`[data-testid="${id}"]`);

  beforeEach(() => {
    root = document.createElement("div");
    document.body.append(root);
    actions = {
      load: vi.fn(),
      setDraft: vi.fn(),
      typing: vi.fn(),
      close: vi.fn(),
      colleagues: vi.fn(async () => colleagues),
      transfer: vi.fn(async () => undefined),
    } as unknown as Actions;
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  const show = async (conv: Conversation) => {
    await act(() => {
      render(<ConversationView conv={conv} page={null} actions={actions} me="u_me" />, root);
    });
  };
  const open = async () => {
    await act(async () => {
      q<HTMLButtonElement>("transfer")!.click();
      await Promise.resolve();
    });
    await act(async () => {
      await Promise.resolve();
    });
  };

  it("offers attaching a file only where files can be shared", async () => {
    await show(held().conversations.c_1!);
    expect(q("attach")).not.toBeNull();
    await act(() => {
      render(<ConversationView conv={held().conversations.c_1!} page={null} actions={actions} me="u_me" files={false} />, root);
    });
    expect(q("attach")).toBeNull();
  });

  it("offers the other colleagues, available first, and sends the chosen one", async () => {
    await show(held().conversations.c_1!);
    expect(q("close")).not.toBeNull();
    const button = q<HTMLButtonElement>("transfer")!;
    expect(button.getAttribute("aria-expanded")).toBe("false");
    await open();
    expect(button.getAttribute("aria-expanded")).toBe("true");
    const dialog = q("transfer-form")!;
    expect(dialog.getAttribute("role")).toBe("dialog");
    expect(dialog.getAttribute("aria-label")).toBe(t.transferTitle);
    const select = q<HTMLSelectElement>("transfer-agent")!;
    const options = [...select.options].map((o) => [o.value, o.textContent]);
    expect(options).toEqual([
      ["u_petras", format(t.transferOption, { name: "Petras", status: t.statusOnline })],
      ["u_rasa", format(t.transferOption, { name: "Rasa", status: t.statusAway })],
      ["u_aud", format(t.transferOption, { name: "Audra", status: t.statusOffline })],
      ["u_vyt", format(t.transferOption, { name: "Vytas", status: t.statusOffline })],
    ]);
    expect(document.activeElement).toBe(select);

    expect(q("transfer-not-online")).toBeNull(); // Petras, online, is chosen first
    select.value = "u_rasa";
    await act(() => {
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    // Away: allowed, with a word on what the visitor will see.
    expect(q("transfer-not-online")!.textContent).toBe(format(t.transferNotOnline, { name: "Rasa" }));
    await act(async () => {
      q<HTMLButtonElement>("transfer-confirm")!.click();
      await Promise.resolve();
    });
    expect(actions.transfer).toHaveBeenCalledWith("c_1", colleagues[3]);
    expect(q("transfer-form")).toBeNull();
  });

  it("closes on Escape and gives the focus back to the button", async () => {
    await show(held().conversations.c_1!);
    await open();
    const select = q<HTMLSelectElement>("transfer-agent")!;
    await act(() => {
      select.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(q("transfer-form")).toBeNull();
    expect(document.activeElement).toBe(q("transfer"));
    expect(actions.transfer).not.toHaveBeenCalled();
  });

  it("shows the server's refusal and stays open", async () => {
    actions.transfer = vi.fn(async () => {
      throw new CommandError({ code: "at_capacity", message: "at most 5 active chats at once; close one first" });
    });
    await show(held().conversations.c_1!);
    await open();
    await act(async () => {
      q<HTMLButtonElement>("transfer-confirm")!.click();
      await Promise.resolve();
    });
    const error = q("transfer-error")!;
    expect(error.textContent).toBe("At most 5 active chats at once; close one first.");
    expect(error.getAttribute("role")).toBe("alert");
    expect(q("transfer-form")).not.toBeNull();
  });

  it("says so when nobody else can take chats", async () => {
    actions.colleagues = vi.fn(async () => [colleagues[1]!]);
    await show(held().conversations.c_1!);
    await open();
    expect(q("transfer-nobody")!.textContent).toBe(t.transferNobody);
    expect(q<HTMLButtonElement>("transfer-confirm")!.disabled).toBe(true);
  });

  it("after the transfer, the old holder's view is read-only with a notice", async () => {
    const s = reducer(held(), {
      type: "events",
      conversation: "c_1",
      events: [stateEv(3, "active", { id: "u_petras", name: "Petras" })],
      live: true,
    });
    await show(s.conversations.c_1!);
    expect(q("transfer")).toBeNull();
    expect(q("close")).toBeNull();
    expect(q("handed-over")!.textContent).toBe(format(t.transferredNotice, { name: "Petras" }));
    expect(q<HTMLTextAreaElement>("composer")!.disabled).toBe(true);
    expect(q<HTMLButtonElement>("send")!.disabled).toBe(true);
    expect(q("reply-hint")!.textContent).toBe(format(t.notYoursNoReply, { name: "Petras" }));
    const events = [...root.querySelectorAll('[data-testid="event"]')].map((e) => e.textContent);
    expect(events).toContain(format(t.eventActive, { name: "Jonas" }));
    expect(events).toContain(format(t.eventTransferred, { name: "Petras" }));
    // Internal notes still work: the note toggle re-enables the composer.
    await show({ ...s.conversations.c_1!, noteMode: true });
    expect(q<HTMLTextAreaElement>("composer")!.disabled).toBe(false);
  });

  it("keeps the keyboard focus where the work goes on after Accept and Close", async () => {
    // QA: the button pressed went away with the old state and the focus fell to the page.
    actions = { ...actions, accept: vi.fn(async () => undefined) } as unknown as Actions;
    const waiting = run(
      { type: "ready", agent: me, conversations: [{ id: "c_1", state: "waiting", last_seq: 1, created_at: "2026-01-01T09:00:00Z", agent: null, visitor }] },
      { type: "events", conversation: "c_1", events: [stateEv(1, "waiting", null)], live: true },
    );
    await show(waiting.conversations.c_1!);
    await act(async () => {
      q<HTMLButtonElement>("accept")!.click();
      await Promise.resolve();
    });
    await show(held().conversations.c_1!);
    expect(document.activeElement).toBe(q("composer"));

    await act(async () => {
      q<HTMLButtonElement>("close")!.click();
      await Promise.resolve();
    });
    const closed = reducer(held(), { type: "events", conversation: "c_1", events: [stateEv(3, "closed", null)], live: true });
    await show(closed.conversations.c_1!);
    expect(document.activeElement).toBe(root.querySelector(".conv-title"));
  });

  it("says why a chat went back to the queue or closed", async () => {
    const requeued: ConvStateEvent = { ...stateEv(3, "waiting", null), reason: "requeued" };
    let s = reducer(held(), { type: "events", conversation: "c_1", events: [requeued], live: true });
    // No longer the agent's: back among the waiting chats, for anyone to accept.
    expect(s.conversations.c_1!.mine).toBe(false);
    expect(s.conversations.c_1!.state).toBe("waiting");
    expect(myList(s).map((c) => c.id)).not.toContain("c_1");
    await show(s.conversations.c_1!);
    const texts = () => [...root.querySelectorAll('[data-testid="event"]')].map((e) => e.textContent);
    expect(texts()).toContain(t.eventRequeued);

    const banned: ConvStateEvent = { ...stateEv(3, "closed", { id: "u_me", name: "Jonas" }), reason: "banned" };
    s = reducer(held(), { type: "events", conversation: "c_1", events: [banned], live: true });
    expect(s.conversations.c_1!.state).toBe("closed");
    await show(s.conversations.c_1!);
    expect(texts()).toContain(t.eventClosedBanned);
    expect(q("close")).toBeNull();
  });

  it("lets a supervisor transfer or close a colleague's chat, themselves included as a target", async () => {
    const s = reducer(held(), {
      type: "events",
      conversation: "c_1",
      events: [stateEv(3, "active", { id: "u_petras", name: "Petras" })],
      live: true,
    });
    await act(() => {
      render(<ConversationView conv={s.conversations.c_1!} page={null} actions={actions} me="u_me" manageAll />, root);
    });
    expect(q("close")).not.toBeNull();
    // Replying stays the holder's.
    expect(q<HTMLTextAreaElement>("composer")!.disabled).toBe(true);
    await open();
    const options = [...q<HTMLSelectElement>("transfer-agent")!.options].map((o) => o.value);
    expect(options).toEqual(["u_me", "u_rasa", "u_aud", "u_vyt"]);
  });
});
