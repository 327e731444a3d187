import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AccountView } from "../console/AccountView";
import { ConsoleApi } from "../console/api";
import { t } from "../console/strings";
import type { StaffSessionInfo } from "../shared/protocol";

const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const CODES = Array.from({ length: 10 }, (_, i) => `code-${String(i).padStart(4, "0")}`);
const CSRF = "csrf-123";
const PASSWORD = "correct horse battery staple";

interface Call {
  method: string;
  path: string;
  csrf: string | null;
  body: unknown;
}

type Reply = { status: number; body?: unknown };
type Handler = (call: Call) => Reply;

/** A fake server: routes "METHOD /path" to handlers and records every request. */
class FakeServer {
  calls: Call[] = [];
  sessions: StaffSessionInfo[] = [
    {
      id: "s_me",
      created_at: "2026-03-01T08:00:00Z",
      last_seen_at: new Date().toISOString(),
      ip: "127.0.0.1",
      user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
      current: true,
    },
    {
      id: "s/other",
      created_at: "2026-02-01T08:00:00Z",
      last_seen_at: "2026-02-02T08:00:00Z",
      ip: "203.0.113.9",
      user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0",
      current: false,
    },
  ];
  totpEnabled = false;
  totpUnreadable = false;
  routes: Record<string, Handler> = {
    "GET /api/v1/auth/me": () => ({
      status: 200,
      body: {
        csrf_token: CSRF,
        user: {
          id: "u_1",
          email: "agent@example.com",
          name: "Jonas",
          role: "agent",
          totp_enabled: this.totpEnabled,
          totp_unreadable: this.totpUnreadable,
        },
      },
    }),
    "GET /api/v1/auth/sessions": () => ({ status: 200, body: this.sessions }),
    "POST /api/v1/auth/totp/setup": (call) =>
      (call.body as { password?: string }).password === PASSWORD
        ? {
            status: 200,
            body: {
              secret: SECRET,
              otpauth_uri: `otpauth://totp/Bastion:agent%40example.com?secret=${SECRET}&issuer=Bastion`,
              qr_svg_data_uri: "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
            },
          }
        : { status: 401, body: { code: "invalid_credentials", message: "wrong password", field: "password" } },
    "POST /api/v1/auth/totp/confirm": (call) =>
      (call.body as { code: string }).code === "123456"
        ? { status: 200, body: { recovery_codes: CODES } }
        : { status: 400, body: { code: "invalid_otp", message: "That code is not valid." } },
    "POST /api/v1/auth/totp/disable": () => ({ status: 204 }),
    "POST /api/v1/auth/password": () => ({
      status: 422,
      body: { code: "weak_password", message: "This password is too common.", field: "new_password" },
    }),
    "POST /api/v1/auth/sessions/end-others": () => {
      this.sessions = this.sessions.filter((s) => s.current);
      return { status: 204 };
    },
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
    let handler = this.routes[`${method} ${input}`];
    if (!handler && method === "DELETE" && input.startsWith("/api/v1/auth/sessions/")) {
      const id = decodeURIComponent(input.slice("/api/v1/auth/sessions/".length));
      handler = () => {
        this.sessions = this.sessions.filter((s) => s.id !== id);
        return { status: 204 };
      };
    }
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
let totpChanges: boolean[];
let sessionGone: number;

async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  });
}

const $ = <T extends Element = HTMLElement>(testid: string): T | null =>
  root.querySelector<T>(`[data-testid="${testid}"]`);

function must<T extends Element = HTMLElement>(testid: string): T {
  const el = $<T>(testid);
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

async function click(testid: string): Promise<void> {
  await act(() => must(testid).click());
  await settle();
}

async function mount(totpEnabled = false): Promise<void> {
  server.totpEnabled = totpEnabled;
  await api.me(); // as the console does before showing the workspace: this keeps the CSRF token
  server.calls = [];
  await act(() => {
    render(
      <AccountView
        api={api}
        email="agent@example.com"
        totpEnabled={totpEnabled}
        waiting={2}
        onBack={() => undefined}
        onSessionGone={() => void sessionGone++}
        onTotpChanged={(on) => void totpChanges.push(on)}
      />,
      root,
    );
  });
  await settle();
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  server = new FakeServer();
  api = new ConsoleApi(server.fetch);
  totpChanges = [];
  sessionGone = 0;
});

afterEach(() => {
  render(null, root);
  root.remove();
});

describe("two-step login", () => {
  it("sets up TOTP: the password, QR code, grouped secret, a wrong code, then the recovery codes once", async () => {
    await mount(false);
    expect(must("totp-status").textContent).toBe(t.totpStatusOff);

    // The password first: nothing is asked of the server, and no secret is shown, before it.
    await click("totp-setup");
    expect(server.writes()).toEqual([]);
    expect($("totp-qr")).toBeNull();
    expect($("totp-secret")).toBeNull();
    expect(document.activeElement).toBe(must("totp-setup-password"));
    await type("totp-setup-password", "not my password");
    await click("totp-setup-continue");
    expect(must("totp-error").textContent).toBe(t.totpWrongPassword);
    expect(must("totp-setup-password").getAttribute("aria-invalid")).toBe("true");
    expect(must<HTMLInputElement>("totp-setup-password").value).toBe("");
    expect($("totp-qr")).toBeNull();
    expect($("totp-secret")).toBeNull();

    await type("totp-setup-password", PASSWORD);
    await click("totp-setup-continue");
    expect($("totp-setup-password")).toBeNull();
    const qr = must<HTMLImageElement>("totp-qr");
    expect(qr.getAttribute("src")).toBe("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=");
    expect(qr.getAttribute("alt")).toBe(t.totpQrAlt);
    const secret = must("totp-secret").textContent ?? "";
    expect(secret).toBe("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
    expect(secret.replace(/\s/gu, "")).toBe(SECRET);

    await type("totp-code", "000000");
    await click("totp-confirm");
    expect(must("totp-error").textContent).toBe("That code is not valid.");
    expect(must<HTMLInputElement>("totp-code").value).toBe("");
    expect($("recovery-codes")).toBeNull();

    await type("totp-code", "123 456");
    await click("totp-confirm");
    const items = [...must("recovery-codes").querySelectorAll("li")].map((li) => li.textContent);
    expect(items).toEqual(CODES);
    expect(root.textContent).toContain(t.totpCodesNotice);
    expect(totpChanges).toEqual([true]);

    await click("totp-done");
    expect($("recovery-codes")).toBeNull();
    expect(must("totp-status").textContent).toBe(t.totpStatusOn);
    expect($("totp-disable")).not.toBeNull();

    const writes = server.writes();
    expect(writes.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/v1/auth/totp/setup",
      "POST /api/v1/auth/totp/setup",
      "POST /api/v1/auth/totp/confirm",
      "POST /api/v1/auth/totp/confirm",
    ]);
    expect(writes.every((c) => c.csrf === CSRF)).toBe(true);
    expect(writes[0]?.body).toEqual({ password: "not my password" });
    expect(writes[1]?.body).toEqual({ password: PASSWORD });
    expect(writes[3]?.body).toEqual({ code: "123456" });
  });

  it("turns TOTP off with the password", async () => {
    await mount(true);
    expect(must("totp-status").textContent).toBe(t.totpStatusOn);
    await type("totp-disable-password", PASSWORD);
    await click("totp-disable");
    expect(server.writes()).toEqual([
      {
        method: "POST",
        path: "/api/v1/auth/totp/disable",
        csrf: CSRF,
        body: { password: PASSWORD },
      },
    ]);
    expect(must("totp-status").textContent).toBe(t.totpStatusOff);
    expect($("totp-setup")).not.toBeNull();
    expect(totpChanges).toEqual([false]);
  });

  it("says when the app can no longer be checked and offers to set it up again", async () => {
    server.totpUnreadable = true; // as /auth/me answers when the stored secret does not open
    await mount(true);
    expect(must("totp-unreadable").textContent).toBe(t.totpUnreadable);
    expect(must("totp-status").textContent).toBe(t.totpStatusUnreadable);
    expect($("totp-enabled")).toBeNull(); // not presented as working
    expect(must("totp-setup").textContent).toBe(t.totpSetupAgain);

    await click("totp-setup");
    await type("totp-setup-password", PASSWORD);
    await click("totp-setup-continue");
    expect($("totp-qr")).not.toBeNull();
    await type("totp-code", "123456");
    await click("totp-confirm");
    await click("totp-done");
    expect($("totp-unreadable")).toBeNull();
    expect(must("totp-status").textContent).toBe(t.totpStatusOn);
    expect($("totp-disable")).not.toBeNull();
    expect(totpChanges).toEqual([true]);
    expect(server.writes().map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/v1/auth/totp/setup",
      "POST /api/v1/auth/totp/confirm",
    ]);
  });

  it("never renders a QR code that is not an SVG data URL", async () => {
    const original = server.routes["POST /api/v1/auth/totp/setup"];
    server.routes["POST /api/v1/auth/totp/setup"] = (call) => {
      const reply = original!(call);
      return { ...reply, body: { ...(reply.body as object), qr_svg_data_uri: "javascript:alert(1)" } };
    };
    await mount(false);
    await click("totp-setup");
    await type("totp-setup-password", PASSWORD);
    await click("totp-setup-continue");
    expect($("totp-qr")).toBeNull();
    expect($("totp-secret")).not.toBeNull();
  });

  it("says a lock as the server words it, and cancelling the password step asks nothing", async () => {
    server.routes["POST /api/v1/auth/totp/setup"] = () => ({
      status: 429,
      body: { code: "too_many_attempts", message: "too many failed attempts; try again later" },
    });
    await mount(false);
    await click("totp-setup");
    await type("totp-setup-password", PASSWORD);
    await click("totp-setup-continue");
    expect(must("totp-error").textContent).toBe("Too many failed attempts; try again later");
    expect(must("totp-setup-password").getAttribute("aria-invalid")).toBeNull();
    await type("totp-setup-password", "typed, then cancelled");
    await click("totp-cancel");
    expect($("totp-setup-password")).toBeNull();
    expect($("totp-error")).toBeNull();
    expect(server.writes()).toHaveLength(1);
    await click("totp-setup");
    expect(must<HTMLInputElement>("totp-setup-password").value).toBe("");
  });
});

describe("sessions", () => {
  it("lists sessions, current first, and ends one or all others with the CSRF header", async () => {
    await mount(false);
    let items = root.querySelectorAll('[data-testid="session-item"]');
    expect(items).toHaveLength(2);
    expect(items[0]?.getAttribute("data-current")).toBe("true");
    expect(items[0]?.textContent).toContain(t.sessionThisDevice);
    expect(items[0]?.querySelector('[data-testid="session-end"]')).toBeNull();
    expect(items[1]?.textContent).toContain("Firefox 133 on macOS");
    expect(items[1]?.textContent).toContain("203.0.113.9");

    await act(() => (items[1]?.querySelector('[data-testid="session-end"]') as HTMLButtonElement).click());
    await settle();
    expect(server.writes()).toEqual([
      { method: "DELETE", path: "/api/v1/auth/sessions/s%2Fother", csrf: CSRF, body: undefined },
    ]);
    items = root.querySelectorAll('[data-testid="session-item"]');
    expect(items).toHaveLength(1);
    expect(must<HTMLButtonElement>("sessions-end-others").disabled).toBe(true);
  });

  it("ends all other sessions", async () => {
    await mount(false);
    await click("sessions-end-others");
    expect(server.writes().map((c) => `${c.method} ${c.path} ${c.csrf}`)).toEqual([
      `POST /api/v1/auth/sessions/end-others ${CSRF}`,
    ]);
    expect(root.querySelectorAll('[data-testid="session-item"]')).toHaveLength(1);
    expect(must("sessions-feedback").textContent).toBe(t.sessionsEnded);
  });

  it("goes back to the login form when the session itself has ended", async () => {
    server.routes["GET /api/v1/auth/sessions"] = () => ({
      status: 401,
      body: { code: "not_authenticated", message: "please log in" },
    });
    await mount(false);
    expect(sessionGone).toBeGreaterThan(0);
  });
});

describe("password", () => {
  it("checks the repetition locally and shows the server's reason", async () => {
    await mount(false);
    await type("pw-current", "old password here");
    await type("pw-new", "new password one");
    await type("pw-repeat", "new password two");
    await click("pw-submit");
    expect(must("pw-feedback").textContent).toBe(t.pwMismatch);
    expect(must("pw-repeat").getAttribute("aria-invalid")).toBe("true");
    expect(server.writes()).toEqual([]);

    await type("pw-repeat", "new password one");
    await click("pw-submit");
    expect(server.writes()).toEqual([
      {
        method: "POST",
        path: "/api/v1/auth/password",
        csrf: CSRF,
        body: { current_password: "old password here", new_password: "new password one" },
      },
    ]);
    expect(must("pw-feedback").textContent).toBe("This password is too common.");
    expect(must("pw-new").getAttribute("aria-invalid")).toBe("true");
    expect(sessionGone).toBe(0);
  });

  it("says the other sessions were ended and clears the form", async () => {
    server.routes["POST /api/v1/auth/password"] = () => ({ status: 204 });
    await mount(false);
    await type("pw-current", "old password here");
    await type("pw-new", "new password one");
    await type("pw-repeat", "new password one");
    await click("pw-submit");
    expect(must("pw-feedback").textContent).toBe(t.pwChanged);
    expect(must<HTMLInputElement>("pw-current").value).toBe("");
    // The session list is read again.
    expect(server.calls.filter((c) => c.path === "/api/v1/auth/sessions").length).toBeGreaterThanOrEqual(2);
  });
});
