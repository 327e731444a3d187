import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConversationView } from "../console/ConversationView";
import { SiteVisitors } from "../console/SiteVisitors";
import { initialState, reducer, SITE_MAX, SITE_TTL_MS, type Action, type ConsoleState } from "../console/state";
import { t } from "../console/strings";
import type { Actions } from "../console/Workspace";
import type { AgentInfo, ConvSummary, VisitorPageEvent } from "../shared/protocol";
import { CommandError } from "../shared/socket";

const me: AgentInfo = { id: "u_me", name: "Jonas", role: "agent", status: "online" };
const visitor = { id: "v_1", name: "Ona", email: null, verified: true };
const NOW = Date.parse("2026-01-01T10:00:00Z");

function summary(page: ConvSummary["page"]): ConvSummary {
  return { id: "c_1", state: "waiting", last_seq: 1, created_at: "2026-01-01T09:00:00Z", agent: null, visitor, preview: "", page };
}

function pageEv(v: string, url: string, ts = "2026-01-01T10:00:00Z", title: string | null = "Pricing"): VisitorPageEvent {
  return { t: "visitor.page", visitor: v, url, title, ts };
}

const run = (...actions: Action[]): ConsoleState => actions.reduce(reducer, initialState);

describe("the visitor's page in the console state", () => {
  it("comes from the conversation summary until a live page view replaces it", () => {
    let s = run({
      type: "ready",
      agent: me,
      conversations: [summary({ url: "https://shop.example/cart", title: "Cart", ts: "2026-01-01T09:59:00Z" })],
    });
    expect(s.pages.v_1).toEqual({ url: "https://shop.example/cart", title: "Cart", ts: "2026-01-01T09:59:00Z" });
    s = reducer(s, { type: "page", event: pageEv("v_1", "https://shop.example/pay"), now: NOW });
    expect(s.pages.v_1).toMatchObject({ url: "https://shop.example/pay", title: "Pricing" });
    // A reconnect's (older) summary does not undo the newer live page.
    s = reducer(s, {
      type: "ready",
      agent: me,
      conversations: [summary({ url: "https://shop.example/cart", title: "Cart", ts: "2026-01-01T09:59:00Z" })],
    });
    expect(s.pages.v_1?.url).toBe("https://shop.example/pay");
  });

  it("stays unknown for a summary without a page", () => {
    const s = run({ type: "ready", agent: me, conversations: [summary(null)] });
    expect(s.pages.v_1).toBeUndefined();
  });
});

describe("on the site now", () => {
  it("lists each visitor once, most recent first, capped and expiring", () => {
    let s = run(
      { type: "page", event: pageEv("v_1", "https://shop.example/a"), now: NOW },
      { type: "page", event: pageEv("v_2", "https://shop.example/b"), now: NOW + 1000 },
      { type: "page", event: pageEv("v_1", "https://shop.example/c"), now: NOW + 2000 },
    );
    expect(s.site.map((e) => [e.visitor, e.url])).toEqual([
      ["v_1", "https://shop.example/c"],
      ["v_2", "https://shop.example/b"],
    ]);
    for (let i = 0; i < SITE_MAX + 10; i++) {
      s = reducer(s, { type: "page", event: pageEv(`v_x${i}`, "https://shop.example/"), now: NOW + 3000 + i });
    }
    expect(s.site).toHaveLength(SITE_MAX);
    expect(s.site[0]?.visitor).toBe(`v_x${SITE_MAX + 9}`);

    s = run(
      { type: "page", event: pageEv("v_old", "https://shop.example/a"), now: NOW },
      { type: "page", event: pageEv("v_new", "https://shop.example/b"), now: NOW + SITE_TTL_MS - 1000 },
    );
    const pruned = reducer(s, { type: "prune", now: NOW + SITE_TTL_MS + 1 });
    expect(pruned.site.map((e) => e.visitor)).toEqual(["v_new"]);
    // Nothing to drop: the same state object (no re-render).
    expect(reducer(pruned, { type: "prune", now: NOW + SITE_TTL_MS + 2 })).toBe(pruned);
  });
});

describe("the SiteVisitors list", () => {
  let root: HTMLElement;

  beforeEach(() => {
    root = document.createElement("div");
    document.body.append(root);
  });

  afterEach(() => {
    render(null, root);
    root.remove();
  });

  async function show(onInvite: (visitor: string, body: string) => Promise<void>) {
    const state = run(
      { type: "page", event: pageEv("v_1", "javascript:alert(1)//https://shop.example", undefined, "<img src=x onerror=alert(1)>"), now: NOW },
      { type: "page", event: pageEv("v_2", "https://shop.example/b", undefined, null), now: NOW },
    );
    await act(() => {
      render(<SiteVisitors entries={state.site} nameOf={(v) => (v === "v_1" ? "Ona" : null)} onInvite={onInvite} />, root);
    });
  }

  const entry = (v: string) => root.querySelector<HTMLElement>(`[data-testid="site-visitor"][data-visitor="${v}"]`)!;

  it("shows title, URL and time as text", async () => {
    await show(async () => {});
    const items = root.querySelectorAll('[data-testid="site-visitor"]');
    expect([...items].map((e) => e.getAttribute("data-visitor"))).toEqual(["v_2", "v_1"]);
    const one = entry("v_1");
    expect(one.querySelector('[data-testid="site-visitor-title"]')!.textContent).toBe("<img src=x onerror=alert(1)>");
    expect(one.querySelector('[data-testid="site-visitor-url"]')!.textContent).toBe("javascript:alert(1)//https://shop.example");
    expect(one.querySelector("img, a")).toBeNull();
    expect(one.querySelector(".site-visitor-name")!.textContent).toBe("Ona");
    expect(one.querySelector("time")!.getAttribute("datetime")).toBe("2026-01-01T10:00:00Z");
    expect(entry("v_2").querySelector('[data-testid="site-visitor-title"]')!.textContent).toBe(t.untitledPage);
    expect(entry("v_2").querySelector(".site-visitor-name")!.textContent).toBe(t.anonymousVisitor);
  });

  it("invites with the default text, then shows the ack", async () => {
    const onInvite = vi.fn(async () => {});
    await show(onInvite);
    await act(() => entry("v_1").querySelector<HTMLButtonElement>('[data-testid="invite"]')!.click());
    const input = entry("v_1").querySelector<HTMLTextAreaElement>('[data-testid="invite-input"]')!;
    expect(input.value).toBe(t.inviteDefault);
    await act(() => {
      input.value = "Need a hand with the checkout?";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => {
      entry("v_1").querySelector<HTMLButtonElement>('[data-testid="invite-send"]')!.click();
      await Promise.resolve();
    });
    expect(onInvite).toHaveBeenCalledWith("v_1", "Need a hand with the checkout?");
    expect(entry("v_1").querySelector('[data-testid="invite-result"]')!.textContent).toBe(t.inviteSent);
    expect(entry("v_1").querySelector('[data-testid="invite-input"]')).toBeNull();
  });

  it("shows the server's error and keeps the text", async () => {
    await show(async () => {
      throw new CommandError({ code: "not_found", message: "no such visitor" });
    });
    await act(() => entry("v_2").querySelector<HTMLButtonElement>('[data-testid="invite"]')!.click());
    await act(async () => {
      entry("v_2").querySelector<HTMLButtonElement>('[data-testid="invite-send"]')!.click();
      await Promise.resolve();
    });
    const result = entry("v_2").querySelector('[data-testid="invite-result"]')!;
    expect(result.textContent).toBe("No such visitor.");
    expect(result.getAttribute("role")).toBe("alert");
    expect(entry("v_2").querySelector<HTMLTextAreaElement>('[data-testid="invite-input"]')!.value).toBe(t.inviteDefault);
  });
});

describe("the conversation header", () => {
  it("shows the page title as text and the URL through the safe renderer", async () => {
    const root = document.createElement("div");
    document.body.append(root);
    const s = run({
      type: "ready",
      agent: me,
      conversations: [summary({ url: "https://shop.example/cart?x=1", title: "<b>Cart</b>", ts: "2026-01-01T09:59:00Z" })],
    });
    const actions = { load: vi.fn() } as unknown as Actions;
    await act(() => {
      render(<ConversationView conv={s.conversations.c_1!} page={s.pages.v_1 ?? null} actions={actions} />, root);
    });
    const page = root.querySelector('[data-testid="conv-page"]')!;
    expect(page.textContent).not.toContain(t.noPage);
    expect(page.querySelector(".page-title")!.textContent).toBe("<b>Cart</b> ");
    expect(page.querySelector("b")).toBeNull();
    const link = page.querySelector<HTMLAnchorElement>(".page-url a")!;
    expect(link.getAttribute("href")).toBe("https://shop.example/cart?x=1");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer nofollow ugc");

    await act(() => {
      render(<ConversationView conv={s.conversations.c_1!} page={null} actions={actions} />, root);
    });
    expect(root.querySelector('[data-testid="conv-page"]')!.textContent).toContain(t.noPage);
    render(null, root);
    root.remove();
  });
});
