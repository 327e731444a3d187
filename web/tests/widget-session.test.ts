import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { widgetTables } from "../shared/i18n";
import { connect, SESSION_OK, settle, sockets, startFrame, stubFetch } from "./frame-harness";

const BUSY = { status: 503, body: { code: "unavailable_briefly", message: "try again" } };
const LIMITED = { status: 429, body: { code: "rate_limited", message: "Too many requests.", retry_after: 1 } };

describe("opening the visitor session", () => {
  beforeEach(() => {
    sockets.length = 0;
    localStorage.clear();
    document.body.replaceChildren();
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("tries again while the server is busy, keeping the visitor and the chat, saying it connects", async () => {
    const calls = stubFetch([BUSY, LIMITED, SESSION_OK]);
    const stored = { token: "vt_old", conversation: "c_1", seq: 4, read: 4 };
    const started = startFrame({ stored });
    await settle();
    const connection = document.querySelector<HTMLElement>(".connection")!;
    const notice = document.querySelector<HTMLElement>(".notice")!;
    expect(calls).toHaveLength(1);
    expect(connection.hidden).toBe(false);
    expect(connection.textContent).toBe(widgetTables.en.connecting);
    expect(notice.hidden).toBe(true);
    // 1 s (±) later, then 2 s (±): the same stored token each time, never a new visitor.
    await new Promise((r) => setTimeout(r, 3100));
    await started;
    expect(calls.map((c) => c.body.resume_token)).toEqual(["vt_old", "vt_old", "vt_old"]);
    expect(JSON.parse(localStorage.getItem("bastion:v1:w_1")!)).toMatchObject({ token: "vt_new", conversation: "c_1" });
    const ws = await connect([{ id: "c_1", state: "active", last_seq: 4, created_at: "x", agent: { name: "Jonas" } }]);
    expect(ws.last("hello")).toMatchObject({ token: "vt_new", resume: { c_1: 0 } });
    expect(notice.hidden).toBe(true);
  });

  it("also tries again when the network fails before any answer", async () => {
    let attempts = 0;
    stubFetch([SESSION_OK]);
    const answer = fetch;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        if (url.endsWith("/sessions") && ++attempts === 1) throw new TypeError("Failed to fetch");
        return answer(url, init);
      }),
    );
    const started = startFrame();
    await new Promise((r) => setTimeout(r, 1100));
    await started;
    expect(attempts).toBe(2);
    expect(sockets).toHaveLength(1);
  });
});
