import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AdminArea } from "../console/admin/AdminArea";
import { sectionsFor } from "../console/admin/adminApi";
import { ConsoleApi } from "../console/api";
import { cannedMatches, cannedQuery, insertCanned } from "../console/canned";
import { ConversationView } from "../console/ConversationView";
import { initialState, reducer } from "../console/state";
import type { Actions } from "../console/Workspace";
import { adminTables } from "../shared/i18n";

const a = adminTables.en;
const CSRF = "csrf-xyz";
const ALL = [
  "chat.handle",
  "chat.view_all",
  "chat.manage_all",
  "widgets.manage",
  "users.manage",
  "tokens.manage",
  "visitors.ban",
  "roles.manage",
  "canned.manage",
];

interface Call {
  method: string;
  path: string;
  csrf: string | null;
  body: unknown;
}
type Reply = { status: number; body?: unknown };

/** A fake server: "METHOD /path" → handler; records every request. */
class FakeServer {
  calls: Call[] = [];
  roles = [
    { name: "owner", builtin: true, permissions: ALL, users: 1 },
    { name: "agent", builtin: true, permissions: ["chat.handle", "visitors.ban"], users: 2 },
    { name: "desk", builtin: false, permissions: ["chat.handle"], users: 1 },
  ];
  departments: { id: string; name: string; retention_days: number | null }[] = [{ id: "d_1", name: "Sales", retention_days: null }];
  routes: Record<string, (call: Call) => Reply> = {
    "GET /api/v1/auth/me": () => ({ status: 200, body: { csrf_token: CSRF, user: { id: "u_me", email: "a@x.io", name: "A", role: "admin" } } }),
    "GET /api/v1/users": () => ({
      status: 200,
      body: [
        { id: "u_me", email: "a@x.io", name: "A", role: "admin", status: "online", totp_enabled: true, disabled: false },
        { id: "u_2", email: "b@x.io", name: "B", role: "desk", status: "offline", totp_enabled: false, disabled: false },
      ],
    }),
    "GET /api/v1/roles": () => ({ status: 200, body: this.roles }),
    "GET /api/v1/departments": () => ({ status: 200, body: this.departments }),
    "GET /api/v1/retention": () => ({ status: 200, body: { default_days: 30 } }),
    "PUT /api/v1/departments/d_1/retention": (call) => {
      const days = (call.body as { days: number | null }).days;
      this.departments = [{ ...this.departments[0]!, retention_days: days }];
      return { status: 200, body: this.departments[0] };
    },
    "GET /api/v1/department-members": () => ({ status: 200, body: { u_2: ["d_1"] } }),
    "POST /api/v1/roles": (call) => {
      const body = call.body as { name: string; permissions: string[] };
      this.roles = [...this.roles, { ...body, builtin: false, users: 0 }];
      return { status: 201, body: { ...body, builtin: false, users: 0 } };
    },
    "DELETE /api/v1/roles/desk": () => ({
      status: 409,
      body: { code: "role_in_use", message: "1 user(s) still have this role; give them another first" },
    }),
    "PUT /api/v1/users/u_2/disabled": () => ({ status: 204 }),
    "GET /api/v1/tokens": () => ({ status: 200, body: [] }),
    "POST /api/v1/tokens": (call) => ({
      status: 201,
      body: { id: "t_1", name: "ci", user_id: "u_me", scopes: (call.body as { scopes: string[] }).scopes, created_at: "", expires_at: "2026-02-01T00:00:00Z", last_used_at: null, revoked: false, token: "bt_secret_shown_once" },
    }),
    "GET /api/v1/security/policy": () => ({
      status: 200,
      body: { require_2fa_roles: ["admin"], ip_allowlist: [], allow_email_otp: true },
    }),
    "PUT /api/v1/security/policy": () => ({
      status: 403,
      body: { code: "forbidden", message: "your own address is not in the new list; you would be locked out" },
    }),
    "GET /api/v1/canned": () => ({ status: 200, body: [] }),
    "POST /api/v1/canned": (call) => ({ status: 201, body: { id: "cr_1", ...(call.body as object), author: "u_me", updated_at: "" } }),
    "GET /api/v1/audit?limit=200": () => ({
      status: 200,
      body: [
        {
          at: "2026-01-01T10:00:00+00:00",
          action: "role.created",
          actor: "u_me",
          actor_name: "Jonas <b>",
          target: "<img src=x>",
          target_name: null,
          ip: "203.0.113.7",
          details: { permissions: ["chat.handle"] },
        },
      ],
    }),
  };

  fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const method = init?.method ?? "GET";
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call: Call = {
      method,
      path: input,
      csrf: headers["X-CSRF-Token"] ?? null,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    this.calls.push(call);
    const handler = this.routes[`${method} ${input}`];
    const reply = handler ? handler(call) : { status: 404, body: { code: "not_found", message: "no route" } };
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), { status: reply.status });
  };

  writes(): Call[] {
    return this.calls.filter((c) => c.method !== "GET");
  }
}

let root: HTMLElement;
let server: FakeServer;
let api: ConsoleApi;

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await act(async () => {
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
    });
  }
}
const $ = <T extends Element = HTMLElement>(sel: string): T | null => root.querySelector<T>(sel);
function must<T extends Element = HTMLElement>(testid: string): T {
  const el = $<T>(`[data-testid="${testid}"]`);
  if (!el) throw new Error(`no [data-testid=${testid}]`);
  return el;
}
async function type(testid: string, value: string): Promise<void> {
  const input = must<HTMLInputElement>(testid);
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}
async function click(el: HTMLElement): Promise<void> {
  await act(() => el.click());
  await settle();
}

async function mount(mine: string[]): Promise<void> {
  await api.me();
  server.calls = [];
  await act(() => {
    render(<AdminArea api={api} me="u_me" all={ALL} mine={mine} onBack={() => undefined} />, root);
  });
  await settle();
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  server = new FakeServer();
  api = new ConsoleApi(server.fetch);
});

afterEach(() => {
  render(null, root);
  root.remove();
});

describe("the admin area", () => {
  it("shows only the sections the permissions open", async () => {
    expect(sectionsFor(["chat.handle", "visitors.ban"])).toEqual([]);
    expect(sectionsFor(["chat.handle", "canned.manage"])).toEqual(["canned"]);
    expect(sectionsFor(["widgets.manage"])).toEqual(["widgets"]);
    await mount(["chat.handle"]);
    expect(root.textContent).toContain(a.adminNoAccess);
    expect(server.calls).toEqual([]);
    await mount(ALL);
    const tabs = Array.from(root.querySelectorAll('[role="tab"]'), (el) => el.textContent);
    expect(tabs).toEqual([
      a.tabUsers,
      a.tabDepartments,
      a.tabRoles,
      a.tabSecurity,
      a.tabTokens,
      a.tabWidgets,
      a.tabCanned,
      a.tabAudit,
    ]);
  });

  it("lists users with custom roles, preselects departments and locks with CSRF", async () => {
    await mount(ALL);
    const rows = root.querySelectorAll('[data-testid="user-row"]');
    expect(rows).toHaveLength(2);
    const other = rows[1] as HTMLElement;
    const roleSelect = other.querySelector<HTMLSelectElement>('[data-testid="user-row-role"]')!;
    expect(roleSelect.value).toBe("desk");
    const deps = other.querySelector<HTMLSelectElement>('[data-testid="user-row-departments"]')!;
    expect(Array.from(deps.selectedOptions, (o) => o.value)).toEqual(["d_1"]);
    // No lock button for yourself.
    expect(rows[0]!.querySelector('[data-testid="user-row-lock"]')).toBeNull();
    // Locking asks first; Escape backs out with the focus back on the button.
    await click(other.querySelector<HTMLElement>('[data-testid="user-row-lock"]')!);
    expect(server.writes()).toEqual([]);
    const ask = other.querySelector<HTMLElement>('[data-testid="user-row-lock-ask"]')!;
    expect(ask.textContent).toContain("Lock ");
    expect(document.activeElement).toBe(other.querySelector('[data-testid="user-row-lock-no"]'));
    await act(() => {
      ask.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(other.querySelector('[data-testid="user-row-lock-ask"]')).toBeNull();
    expect(document.activeElement).toBe(other.querySelector('[data-testid="user-row-lock"]'));
    expect(server.writes()).toEqual([]);
    await click(other.querySelector<HTMLElement>('[data-testid="user-row-lock"]')!);
    await click(other.querySelector<HTMLElement>('[data-testid="user-row-lock-yes"]')!);
    expect(server.writes()).toEqual([{ method: "PUT", path: "/api/v1/users/u_2/disabled", csrf: CSRF, body: { disabled: true } }]);
  });

  it("offers owners only to an owner, and leaves an owner's row alone for others", async () => {
    const original = server.routes["GET /api/v1/users"]!;
    const asOwner = (role: string) => (call: Call) => {
      const reply = original(call) as { status: number; body: { role: string }[] };
      return { ...reply, body: [{ ...reply.body[0]!, role }, ...reply.body.slice(1)] };
    };
    const withOwner = (call: Call) => {
      const reply = original(call) as { status: number; body: object[] };
      const owner = { id: "u_o", email: "o@x.io", name: "O", role: "owner", status: "offline", totp_enabled: true, disabled: false };
      return { ...reply, body: [...reply.body, owner] };
    };
    server.routes["GET /api/v1/users"] = withOwner;
    await mount(ALL); // as an admin
    const options = (el: Element) => Array.from(el.querySelectorAll("option"), (o) => o.value);
    const rows = root.querySelectorAll<HTMLElement>('[data-testid="user-row"]');
    expect(options(rows[1]!.querySelector('[data-testid="user-row-role"]')!)).not.toContain("owner");
    expect(options(root.querySelector('[data-testid="user-role"]')!)).not.toContain("owner");
    const ownerRole = rows[2]!.querySelector<HTMLSelectElement>('[data-testid="user-row-role"]')!;
    expect(ownerRole.value).toBe("owner");
    expect(ownerRole.disabled).toBe(true);
    render(null, root);
    server.routes["GET /api/v1/users"] = asOwner("owner");
    await mount(ALL);
    const other = root.querySelectorAll<HTMLElement>('[data-testid="user-row"]')[1]!;
    expect(options(other.querySelector('[data-testid="user-row-role"]')!)).toContain("owner");
    server.routes["GET /api/v1/users"] = original;
  });

  it("changes a role only once confirmed, and warns before making an owner", async () => {
    const original = server.routes["GET /api/v1/users"]!;
    server.routes["GET /api/v1/users"] = (call: Call) => {
      const reply = original(call) as { status: number; body: { role: string }[] };
      return { ...reply, body: [{ ...reply.body[0]!, role: "owner" }, ...reply.body.slice(1)] };
    };
    await mount(ALL);
    const other = root.querySelectorAll<HTMLElement>('[data-testid="user-row"]')[1]!;
    const select = other.querySelector<HTMLSelectElement>('[data-testid="user-row-role"]')!;
    const pick = async (role: string) => {
      select.value = role;
      await act(() => {
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
    };
    await pick("owner");
    expect(server.writes()).toEqual([]);
    expect(other.querySelector('[data-testid="user-row-role-ask"]')!.textContent).toContain("an owner?");
    await click(other.querySelector<HTMLElement>('[data-testid="user-row-role-no"]')!);
    expect(select.value).toBe("desk");
    expect(server.writes()).toEqual([]);
    await pick("agent");
    expect(other.querySelector('[data-testid="user-row-role-ask"]')!.textContent).toContain("from desk to agent");
    await click(other.querySelector<HTMLElement>('[data-testid="user-row-role-yes"]')!);
    expect(server.writes()).toMatchObject([{ method: "PUT", path: "/api/v1/users/u_2/role", body: { role: "agent" } }]);
  });

  it("flags a user whose authenticator app can no longer be checked", async () => {
    const original = server.routes["GET /api/v1/users"]!;
    server.routes["GET /api/v1/users"] = (call) => {
      const [me, other] = original(call).body as object[];
      return { status: 200, body: [me, { ...other, totp_enabled: true, totp_unreadable: true }] };
    };
    await mount(ALL);
    const rows = root.querySelectorAll<HTMLElement>('[data-testid="user-row"]');
    expect(rows[0]!.querySelector('[data-testid="user-row-totp-unreadable"]')).toBeNull();
    expect(rows[0]!.textContent).toContain(a.twoStep);
    const badge = rows[1]!.querySelector('[data-testid="user-row-totp-unreadable"]');
    expect(badge?.textContent).toBe(a.twoStepUnreadable);
    expect(rows[1]!.textContent).not.toContain(a.twoStep);
  });

  it("sets a department's retention, asking first when it deletes sooner", async () => {
    await mount(ALL);
    await click(must("admin-tab-departments"));
    const choice = must<HTMLSelectElement>("retention-choice");
    expect(choice.value).toBe("default");
    expect(choice.selectedOptions[0]!.textContent).toBe("Deployment default: 30 days");
    expect(must<HTMLButtonElement>("retention-save").disabled).toBe(true);
    const choose = async (value: string) => {
      const select = must<HTMLSelectElement>("retention-choice");
      select.value = value;
      await act(() => {
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
    };
    // Longer than the default: saved at once.
    await choose("forever");
    await click(must("retention-save"));
    expect(server.writes()).toMatchObject([{ method: "PUT", path: "/api/v1/departments/d_1/retention", csrf: CSRF, body: { days: 0 } }]);
    expect(must<HTMLSelectElement>("retention-choice").value).toBe("forever");
    // Shorter: asks, naming the department and the new length; Cancel sends nothing.
    await choose("days");
    await type("retention-days", "0");
    expect(must<HTMLButtonElement>("retention-save").disabled).toBe(true);
    await type("retention-days", "7");
    await click(must("retention-save"));
    expect(must("retention-save-ask").textContent).toContain("Keep Sales's closed chats only 7 days?");
    await click(must("retention-save-no"));
    expect(server.writes()).toHaveLength(1);
    await click(must("retention-save"));
    await click(must("retention-save-yes"));
    expect(server.writes()[1]).toMatchObject({ body: { days: 7 } });
    expect(must<HTMLInputElement>("retention-days").value).toBe("7");
    // Back to the default (30 days, longer than 7): no question.
    await choose("default");
    await click(must("retention-save"));
    expect(server.writes()[2]).toMatchObject({ body: { days: null } });
  });

  it("creates a custom role from held permissions only and shows role_in_use", async () => {
    await mount(["users.manage", "roles.manage", "chat.handle"]);
    await click(must("admin-tab-roles"));
    expect(must<HTMLInputElement>("perm-new-tokens.manage").disabled).toBe(true);
    expect(must<HTMLInputElement>("perm-new-chat.handle").disabled).toBe(false);
    await type("role-name", "triage");
    await act(() => must<HTMLInputElement>("perm-new-chat.handle").click());
    await act(() => must<HTMLFormElement>("role-create").requestSubmit());
    await settle();
    expect(server.writes()).toEqual([
      { method: "POST", path: "/api/v1/roles", csrf: CSRF, body: { name: "triage", permissions: ["chat.handle"] } },
    ]);
    expect($('[data-role="triage"]')).not.toBeNull();
    // Built-ins offer no edit or delete; deleting a role in use shows the server's reason.
    expect($('[data-role="owner"] [data-testid="role-delete"]')).toBeNull();
    await click($<HTMLElement>('[data-role="desk"] [data-testid="role-delete"]')!);
    await click($<HTMLElement>('[data-role="desk"] [data-testid="role-delete-yes"]')!);
    expect(must("admin-error").textContent).toContain("still have this role");
  });

  it("shows a new API token once", async () => {
    await mount(ALL);
    await click(must("admin-tab-tokens"));
    await type("token-name", "ci");
    // No permission ticked: nothing to create yet, and the form says why.
    expect(must<HTMLButtonElement>("token-submit").disabled).toBe(true);
    expect(must("token-needs-scope").textContent).toBe(a.tokenNeedsScope);
    await act(() => must<HTMLInputElement>("perm-token-chat.view_all").click());
    expect(must<HTMLButtonElement>("token-submit").disabled).toBe(false);
    await act(() => must<HTMLFormElement>("token-create").requestSubmit());
    await settle();
    expect(must("token-secret").textContent).toBe("bt_secret_shown_once");
    expect(server.writes()[0]?.body).toEqual({ name: "ci", scopes: ["chat.view_all"], days: 30 });
    await click(must("admin-tab-users"));
    await click(must("admin-tab-tokens"));
    expect($('[data-testid="token-secret"]')).toBeNull();
  });

  it("explains the allow-list self-lockout refusal", async () => {
    await mount(ALL);
    await click(must("admin-tab-security"));
    expect(must<HTMLInputElement>("require2fa-desk").checked).toBe(false);
    expect(must<HTMLInputElement>("policy-email-otp").checked).toBe(true);
    await click(must("policy-email-otp"));
    await type("policy-ips", "10.0.0.0/8\n192.168.0.0/16");
    await act(() => must<HTMLFormElement>("policy-form").requestSubmit());
    await settle();
    expect(server.writes()[0]?.body).toEqual({
      require_2fa_roles: ["admin"],
      ip_allowlist: ["10.0.0.0/8", "192.168.0.0/16"],
      allow_email_otp: false,
    });
    expect(must("admin-error").textContent).toContain("locked out");
    expect(root.textContent).toContain(a.lockoutGuard);
  });

  it("reads the Canned tab's list again when the socket says canned responses changed", async () => {
    await mount(ALL);
    await click(must("admin-tab-canned"));
    const reads = () => server.calls.filter((c) => c.method === "GET" && c.path === "/api/v1/canned").length;
    const before = reads();
    const show = async (version: number) => {
      await act(() => {
        render(
          <AdminArea api={api} me="u_me" all={ALL} mine={ALL} onBack={() => undefined} cannedVersion={version} />,
          root,
        );
      });
      await settle();
    };
    await show(0);
    expect(reads()).toBe(before); // a re-render alone reads nothing
    await show(1);
    expect(reads()).toBe(before + 1);
  });

  it("creates a department-scoped canned response and renders the audit log as text", async () => {
    await mount(ALL);
    await click(must("admin-tab-canned"));
    await type("canned-shortcut", "hi");
    await type("canned-title", "Greeting");
    await type("canned-body", "Hello!");
    const dep = must<HTMLSelectElement>("canned-department");
    await act(() => {
      dep.value = "d_1";
      dep.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await act(() => must<HTMLFormElement>("canned-form").requestSubmit());
    await settle();
    expect(server.writes()[0]).toMatchObject({
      method: "POST",
      path: "/api/v1/canned",
      csrf: CSRF,
      body: { shortcut: "hi", title: "Greeting", body: "Hello!", department: "d_1" },
    });
    await click(must("admin-tab-audit"));
    const row = must("audit-row");
    expect(row.textContent).toContain("<img src=x>");
    // Staff are named (as text), with the id beside; the IP is shown.
    expect(row.textContent).toContain("Jonas <b> (u_me)");
    expect(row.textContent).toContain("203.0.113.7");
    expect($("img")).toBeNull();
    expect($("b")).toBeNull();
  });

  it("filters the audit log whatever the case typed, and never says 'nothing' for an error", async () => {
    server.routes["GET /api/v1/audit?limit=200&action=user."] = () => ({ status: 200, body: [] });
    server.routes["GET /api/v1/audit?limit=200&action=widget"] = () => ({
      status: 503,
      body: { code: "unavailable", message: "the audit log cannot be read now" },
    });
    await mount(ALL);
    await click(must("admin-tab-audit"));
    await type("audit-filter", " User. ");
    must("audit-filter").closest("form")!.requestSubmit();
    await settle();
    await settle();
    expect(server.calls.map((c) => c.path)).toContain("/api/v1/audit?limit=200&action=user.");
    expect(root.textContent).toContain(a.noAudit);
    await type("audit-filter", "widget");
    must("audit-filter").closest("form")!.requestSubmit();
    await settle();
    await settle();
    expect(root.textContent).toContain("The audit log cannot be read now");
    expect(root.textContent).not.toContain(a.noAudit);
  });

  it("numbers the entries by their place in the chain and verifies the chain on request", async () => {
    const original = server.routes["GET /api/v1/audit?limit=200"]!;
    server.routes["GET /api/v1/audit?limit=200"] = (call) => {
      const [entry] = original(call).body as object[];
      return { status: 200, body: [{ ...entry, seq: 42 }] };
    };
    let report: unknown = { ok: true, entries: 42, unchained: 3, head: { seq: 42, mac: "ab".repeat(32) }, problems: [] };
    server.routes["GET /api/v1/audit/verify"] = () => ({ status: 200, body: report });
    await mount(ALL);
    await click(must("admin-tab-audit"));
    expect(must("audit-row").firstElementChild!.textContent).toBe("42");
    expect(root.querySelector('[data-testid="audit-chain"]')).toBeNull();
    await click(must("audit-verify"));
    const ok = must("audit-chain");
    expect(ok.getAttribute("role")).toBe("status");
    expect(ok.textContent).toContain("all 42 entries match");
    expect(ok.textContent).toContain(`up to entry 42 (head ${"ab".repeat(8)}…)`);
    expect(ok.textContent).toContain("3 older entries were written before the chain");
    report = { ok: false, entries: 42, unchained: 0, head: { seq: 42, mac: "ab".repeat(32) }, problems: ["entry 7 does not match its MAC (altered or moved)"] };
    await click(must("audit-verify"));
    const bad = must("audit-chain");
    expect(bad.getAttribute("role")).toBe("alert");
    expect(bad.textContent).toContain("The chain is broken");
    expect(bad.textContent).toContain("entry 7 does not match its MAC");
  });
});

describe("canned responses in the composer", () => {
  const items = [
    { id: "1", shortcut: "greet", title: "Greeting", body: "Hello, how can I help?" },
    { id: "2", shortcut: "refund", title: "Refund", body: "Refunds take 5 days." },
  ];

  it("matches '/' + a shortcut prefix at the end of the draft", () => {
    expect(cannedQuery("/gr")).toBe("gr");
    expect(cannedQuery("thanks /")).toBe("");
    expect(cannedQuery("a/b")).toBeNull();
    expect(cannedQuery("/gr now")).toBeNull();
    expect(cannedMatches(items, "r").map((c) => c.shortcut)).toEqual(["refund"]);
    expect(insertCanned("Sure! /gre", items[0]!)).toBe("Sure! Hello, how can I help?");
  });

  it("inserts the text into the draft on Enter without sending", async () => {
    const s = reducer(initialState, {
      type: "ready",
      agent: { id: "u_me", name: "Jonas", role: "agent", status: "online" },
      conversations: [
        { id: "c_1", state: "active", last_seq: 1, created_at: "2026-01-01T09:00:00Z", agent: null, visitor: undefined, preview: "", page: null },
      ],
    });
    const conv = { ...s.conversations.c_1!, loaded: true, draft: "/re" };
    const actions = { load: vi.fn(), setDraft: vi.fn(), send: vi.fn(), typing: vi.fn() } as unknown as Actions;
    await act(() => {
      render(<ConversationView conv={conv} page={null} actions={actions} canned={items} />, root);
    });
    const options = root.querySelectorAll('[data-testid="canned-option"]');
    expect(Array.from(options, (o) => o.getAttribute("data-shortcut"))).toEqual(["refund"]);
    const composer = must<HTMLTextAreaElement>("composer");
    await act(() => {
      composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    });
    expect(actions.setDraft).toHaveBeenCalledWith("c_1", { text: "Refunds take 5 days." });
    expect(actions.send).not.toHaveBeenCalled();

    // No canned match: Enter sends as before.
    await act(() => {
      render(<ConversationView conv={{ ...conv, draft: "plain" }} page={null} actions={actions} canned={items} />, root);
    });
    expect($('[data-testid="canned-suggestions"]')).toBeNull();
    await act(() => {
      must<HTMLTextAreaElement>("composer").dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    });
    expect(actions.send).toHaveBeenCalledWith("c_1", "plain", "msg");
  });
});

describe("an admin panel's status line", () => {
  it("is brought into view when it changes, wherever the form that set it is", async () => {
    const { Status } = await import("../console/admin/common");
    const root = document.createElement("div");
    document.body.append(root);
    const seen: string[] = [];
    const spy = vi
      .spyOn(HTMLElement.prototype, "scrollIntoView")
      .mockImplementation(function (this: HTMLElement) {
        seen.push(this.textContent ?? "");
      });
    await act(() => render(<Status status={{ ok: false, text: "A user with this e-mail exists." }} />, root));
    await act(() => render(<Status status={{ ok: true, text: "Saved." }} />, root));
    expect(seen).toEqual(["A user with this e-mail exists.", "Saved."]);
    render(null, root);
    root.remove();
    spy.mockRestore();
  });
});
