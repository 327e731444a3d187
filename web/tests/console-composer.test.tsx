import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConsoleApi } from "../console/api";
import { Workspace } from "../console/Workspace";
import type { StaffUser } from "../shared/protocol";
import { FakeSocket, sockets } from "./frame-harness";

const user: StaffUser = { id: "u_me", email: "jonas@example.com", name: "Jonas", role: "agent", status: "online" };

let root: HTMLElement;
/** What /auth/me adds to its answer (the server's message limit). */
let meExtra: Record<string, unknown>;

async function fakeFetch(input: string): Promise<Response> {
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
  if (input === "/api/v1/permissions") return json({ all: ["chat.handle"], mine: ["chat.handle"] });
  if (input === "/api/v1/auth/me") return json({ csrf_token: "c", user, enrollment_required: false, ...meExtra });
  if (input === "/api/v1/canned") return json([]);
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

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  sockets.length = 0;
  meExtra = {};
  vi.stubGlobal("WebSocket", FakeSocket);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
});

/** The signed-in console with its socket open, `visitors` on the site, our active chat selected. */
async function openConsole(visitors = 0, select = true): Promise<FakeSocket> {
  await act(() => render(<Workspace api={new ConsoleApi(fakeFetch)} user={user} onLoggedOut={() => undefined} />, root));
  await settle();
  const ws = sockets.at(-1)!;
  ws.open();
  await settle();
  await act(() =>
    ws.receive({
      t: "ack",
      id: ws.last("hello")!.id,
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
  for (let i = 0; i < visitors; i++) {
    await act(() =>
      ws.receive({ t: "visitor.page", visitor: `v_site${i}`, url: `https://shop.example/${i}`, title: null, ts: "2026-01-01T09:00:00Z" }),
    );
  }
  await settle();
  if (select) {
    await act(() => must("my-item").click());
    await settle();
  }
  return ws;
}

async function type(text: string): Promise<void> {
  const composer = must<HTMLTextAreaElement>("composer");
  await act(() => {
    composer.value = text;
    composer.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function enter(): Promise<void> {
  await act(() => {
    must("composer").dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  });
  await settle();
}

describe("the console's composer", () => {
  it("goes back to replying once a note is sent, so the next reply reaches the visitor", async () => {
    const ws = await openConsole();
    await act(() => must("note-toggle").click());
    expect(must("note-toggle").getAttribute("aria-pressed")).toBe("true");
    await type("VIP customer");
    await enter();
    expect(ws.last("note.send")).toMatchObject({ conversation: "c_1", body: "VIP customer" });

    expect(must("note-toggle").getAttribute("aria-pressed")).toBe("false");
    expect(must("send").textContent).toBe("Send");
    expect(must("composer").closest("form")?.classList.contains("composer--note")).toBe(false);
    await type("It ships today.");
    await enter();
    expect(ws.last("msg.send")).toMatchObject({ conversation: "c_1", body: "It ships today." });
    expect(ws.sent.filter((f) => f.t === "note.send")).toHaveLength(1);
  });

  it("keeps a text over the server's limit, names the limit and sends nothing", async () => {
    meExtra = { message_max_chars: 50 };
    const ws = await openConsole();
    const composer = must<HTMLTextAreaElement>("composer");
    expect(composer.hasAttribute("maxlength")).toBe(false);
    const counter = must("counter");
    await type("a".repeat(40));
    expect(counter.hidden).toBe(true);
    await type("a".repeat(46));
    expect(counter.hidden).toBe(false);
    expect(counter.textContent).toBe("4 characters left");

    await type("a".repeat(51));
    expect(counter.textContent).toBe("This message is too long: at most 50 characters (1 too many).");
    expect(composer.getAttribute("aria-invalid")).toBe("true");
    expect(composer.getAttribute("aria-describedby")).toBe(counter.id);
    expect(must<HTMLButtonElement>("send").disabled).toBe(true);
    await enter();
    expect(ws.last("msg.send")).toBeUndefined();
    expect(composer.value).toHaveLength(51);

    await type("a".repeat(50));
    expect(must<HTMLButtonElement>("send").disabled).toBe(false);
    await enter();
    expect((ws.last("msg.send")!.body as string).length).toBe(50);
  });

  it("holds notes to the limit too, and uses the default limit when the server says none", async () => {
    const ws = await openConsole();
    await act(() => must("note-toggle").click());
    await type("b".repeat(4100));
    expect(must("counter").textContent).toBe("This message is too long: at most 4,000 characters (100 too many).");
    await enter();
    expect(ws.last("note.send")).toBeUndefined();
    expect(must<HTMLTextAreaElement>("composer").value).toHaveLength(4100);
    expect(must("note-toggle").getAttribute("aria-pressed")).toBe("true");
  });
});

describe("keyboard access to the conversation", () => {
  it("starts with a skip link past the lists to the open chat", async () => {
    await openConsole(50);
    expect(root.querySelectorAll('[data-testid="invite"]')).toHaveLength(50);
    const focusable = root.querySelectorAll<HTMLElement>("a[href], button, select, textarea, input");
    const skip = must<HTMLAnchorElement>("skip-to-chat");
    expect(focusable[0]).toBe(skip);
    expect(skip.textContent).toBe("Skip to conversation");

    await act(() => skip.click());
    const main = document.activeElement as HTMLElement;
    expect(main.id).toBe("conversation");
    expect(main.tabIndex).toBe(-1);
    expect(skip.getAttribute("href")).toBe("#conversation");
    // Next on Tab: the conversation's own controls, not an Invite button.
    expect(main.contains(must("composer"))).toBe(true);
    expect(main.querySelector('[data-testid="invite"]')).toBeNull();
  });

  it("offers no skip link while no chat is open", async () => {
    await openConsole(3, false);
    expect(root.querySelector('[data-testid="skip-to-chat"]')).toBeNull();
  });
});

describe("telling the agent something new is there", () => {
  /** Counts the tones played (an AudioContext per tone). */
  let tones: number;
  beforeEach(() => {
    tones = 0;
    localStorage.clear();
    class FakeAudio {
      currentTime = 0;
      destination = {};
      constructor() {
        tones += 1;
      }
      createOscillator() {
        return { frequency: { value: 0 }, connect: (n: unknown) => n, start() {}, stop() {}, onended: null };
      }
      createGain() {
        return { gain: { value: 0 }, connect: (n: unknown) => n };
      }
      close() {
        return Promise.resolve();
      }
    }
    vi.stubGlobal("AudioContext", FakeAudio);
  });

  const visitorSays = async (ws: FakeSocket, seq: number) => {
    const message = { id: `m_${seq}`, author: { kind: "visitor", name: "Ona" }, body: "hello?", ts: "2026-01-01T09:01:00Z" };
    await act(() => ws.receive({ t: "msg", conversation: "c_1", seq, message }));
    await settle();
  };
  const hidden = (value: boolean) => Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
  afterEach(() => hidden(false));

  it("plays a tone for a new message in a chat not on screen, none for what was there at sign-in", async () => {
    const ws = await openConsole(0, false);
    expect(tones).toBe(0);
    await visitorSays(ws, 2);
    expect(tones).toBe(1);
    expect(document.title).toBe("(1) Bastion");
  });

  it("marks the open chat unread while the console's tab is hidden, and clears it on return", async () => {
    const ws = await openConsole();
    hidden(true);
    await visitorSays(ws, 2);
    expect(document.title).toBe("(1) Bastion");
    expect(tones).toBe(1);
    hidden(false);
    await act(() => {
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await settle();
    expect(document.title).toBe("Bastion");
  });

  describe("desktop notifications", () => {
    let shown: { title: string; options: NotificationOptions; onclick: (() => void) | null; closed: boolean }[];
    let permission: NotificationPermission;
    beforeEach(() => {
      shown = [];
      permission = "default";
      class FakeNotification {
        static get permission() {
          return permission;
        }
        static async requestPermission() {
          permission = answer;
          return permission;
        }
        onclick: (() => void) | null = null;
        constructor(title: string, options: NotificationOptions) {
          const entry = { title, options, onclick: null as (() => void) | null, closed: false };
          shown.push(entry);
          Object.defineProperty(this, "onclick", { set: (fn: () => void) => (entry.onclick = fn) });
        }
        close() {
          shown.at(-1)!.closed = true;
        }
      }
      let answer: NotificationPermission = "granted";
      vi.stubGlobal("Notification", FakeNotification);
      vi.stubGlobal("isSecureContext", true);
      refuse = () => (answer = "denied");
    });
    let refuse: () => void;

    it("once turned on, says something needs the agent without who or what, and a click opens the chat", async () => {
      const ws = await openConsole(0, false);
      const toggle = must("alerts");
      expect(toggle.textContent).toBe("Alerts off");
      hidden(true);
      await visitorSays(ws, 2);
      expect(shown).toEqual([]);
      await act(() => toggle.click());
      await settle();
      expect(toggle.textContent).toBe("Alerts on");
      expect(localStorage.getItem("bastion:console:notify")).toBe("on");

      // On the visible tab: nothing. Read, then a new message with the tab hidden: one.
      hidden(false);
      await act(() => root.querySelector<HTMLElement>('[data-conversation="c_1"]')!.click());
      await settle();
      await act(() => must("back-to-list").click());
      await visitorSays(ws, 3);
      expect(shown).toEqual([]);
      await act(() => root.querySelector<HTMLElement>('[data-conversation="c_1"]')!.click());
      await settle();
      await act(() => must("back-to-list").click());
      await settle();
      hidden(true);
      await visitorSays(ws, 4);
      expect(shown).toHaveLength(1);
      const [note] = shown;
      expect(note!.title).toBe("Bastion");
      expect(note!.options).toEqual({ body: "A visitor wrote in one of your chats", tag: "bastion-console" });
      expect(JSON.stringify(note)).not.toMatch(/Ona|hello/);
      expect(root.querySelector('[data-testid="composer"]')).toBeNull();
      await act(() => note!.onclick!());
      await settle();
      expect(note!.closed).toBe(true);
      expect(root.querySelector('[data-testid="composer"]')).not.toBeNull();

      // Off again: no more.
      hidden(false);
      await act(() => must("back-to-list").click());
      await act(() => toggle.click());
      hidden(true);
      await visitorSays(ws, 5);
      expect(shown).toHaveLength(1);
      expect(localStorage.getItem("bastion:console:notify")).toBe("off");
    });

    it("shows when the browser blocks them, and then shows none", async () => {
      refuse();
      const ws = await openConsole(0, false);
      await act(() => must("alerts").click());
      await settle();
      expect(must("alerts").textContent).toBe("Alerts blocked");
      hidden(true);
      await visitorSays(ws, 2);
      expect(shown).toEqual([]);
    });
  });

  it("stays silent once the agent turns the sound off, and remembers it", async () => {
    const ws = await openConsole(0, false);
    const toggle = must("sound");
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    await act(() => toggle.click());
    expect(toggle.getAttribute("aria-pressed")).toBe("false");
    await visitorSays(ws, 2);
    expect(tones).toBe(0);
    expect(localStorage.getItem("bastion:console:sound")).toBe("off");
  });
});
