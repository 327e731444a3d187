import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConsoleApi } from "../console/api";
import type { CannedItem } from "../console/canned";
import { Workspace } from "../console/Workspace";
import type { StaffUser } from "../shared/protocol";
import { FakeSocket, sockets } from "./frame-harness";

const user: StaffUser = { id: "u_me", email: "jonas@example.com", name: "Jonas", role: "agent", status: "online" };
const HI: CannedItem = { id: "cr_1", shortcut: "hi", title: "Greeting", body: "Hello!" };
const HOURS: CannedItem = { id: "cr_2", shortcut: "hours", title: "Opening hours", body: "We are open 9–17." };

let root: HTMLElement;
let canned: CannedItem[];
let gets: string[];
/** When set, the next canned read takes the list as it is now but answers only once this settles. */
let hold: Promise<void> | null;

async function fakeFetch(input: string, init?: RequestInit): Promise<Response> {
  const method = init?.method ?? "GET";
  if (method === "GET") gets.push(input.split("?")[0]!);
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
  if (input === "/api/v1/permissions") return json({ all: ["chat.handle"], mine: ["chat.handle"] });
  if (input === "/api/v1/auth/me") return json({ csrf_token: "c", user, enrollment_required: false });
  if (input === "/api/v1/canned") {
    const list = canned;
    const wait = hold;
    hold = null;
    if (wait) await wait;
    return json(list);
  }
  if (input.startsWith("/api/v1/conversations/c_1/events")) return json({ events: [], last_seq: 1 });
  return new Response(JSON.stringify({ code: "not_found", message: "no route" }), { status: 404 });
}

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await act(async () => {
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
    });
  }
}

const must = <E extends Element = HTMLElement>(testid: string): E => {
  const el = root.querySelector<E>(`[data-testid="${testid}"]`);
  if (!el) throw new Error(`no [data-testid=${testid}]`);
  return el;
};

const cannedReads = () => gets.filter((p) => p === "/api/v1/canned").length;

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  sockets.length = 0;
  canned = [HI];
  gets = [];
  hold = null;
  vi.stubGlobal("WebSocket", FakeSocket);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
});

/** The signed-in console with its socket open and an active chat of ours selected. */
async function openConsole(): Promise<FakeSocket> {
  await act(() => render(<Workspace api={new ConsoleApi(fakeFetch)} user={user} onLoggedOut={() => undefined} />, root));
  await settle();
  const ws = sockets.at(-1)!;
  ws.open();
  await settle();
  const hello = ws.sent.find((f) => f.t === "hello")!;
  await act(() =>
    ws.receive({
      t: "ack",
      id: hello.id,
      agent: { id: "u_me", name: "Jonas", role: "agent", status: "online" },
      conversations: [
        {
          id: "c_1",
          state: "active",
          last_seq: 1,
          created_at: "2026-01-01T09:00:00Z",
          agent: { id: "u_me", name: "Jonas" },
          visitor: { id: "v_1", name: "Ona", email: null, verified: false },
          preview: "",
          page: null,
        },
      ],
    }),
  );
  await settle();
  await act(() => must("my-item").click());
  await settle();
  return ws;
}

async function typeDraft(text: string): Promise<void> {
  const composer = must<HTMLTextAreaElement>("composer");
  await act(() => {
    composer.value = text;
    composer.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

const offered = () => Array.from(root.querySelectorAll('[data-testid="canned-option"]'), (o) => o.getAttribute("data-shortcut"));

describe("canned responses in an open console", () => {
  it("are read again when the server says they changed, without a reload", async () => {
    const ws = await openConsole();
    expect(cannedReads()).toBe(1);
    await typeDraft("/h");
    expect(offered()).toEqual(["hi"]);

    // Another admin adds one: the socket says so (no text), the console asks again.
    canned = [HI, HOURS];
    await act(() => ws.receive({ t: "canned.changed" }));
    await settle();
    expect(cannedReads()).toBe(2);
    expect(offered()).toEqual(["hi", "hours"]);

    // And deletes one.
    canned = [HOURS];
    await act(() => ws.receive({ t: "canned.changed" }));
    await settle();
    expect(cannedReads()).toBe(3);
    expect(offered()).toEqual(["hours"]);
  });

  it("keeps the newest answer when reads overlap", async () => {
    const ws = await openConsole();
    await typeDraft("/h");
    // The first read after two quick changes answers last: its older list must not win.
    let release: () => void = () => undefined;
    hold = new Promise<void>((r) => (release = r));
    canned = [HI, HOURS];
    await act(() => ws.receive({ t: "canned.changed" }));
    canned = [HOURS];
    await act(() => ws.receive({ t: "canned.changed" }));
    await settle();
    expect(offered()).toEqual(["hours"]);
    release();
    await settle();
    expect(cannedReads()).toBe(3);
    expect(offered()).toEqual(["hours"]);
  });
});
