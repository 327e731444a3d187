import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { App } from "../console/App";
import { ConsoleApi } from "../console/api";
import { t } from "../console/strings";

const SECRET = "JBSWY3DPEHPK3PXP";
const QR = "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=";
const user = { id: "u_1", email: "owner@example.com", name: "Ona", role: "owner", status: "offline", totp_enabled: false };

let root: HTMLElement;
let meReplies: { status: number; body: unknown }[];
let paths: string[];
let bodies: Record<string, unknown>;

async function fakeFetch(input: string, init?: RequestInit): Promise<Response> {
  paths.push(`${init?.method ?? "GET"} ${input}`);
  if (typeof init?.body === "string") bodies[input] = JSON.parse(init.body);
  if (input === "/api/v1/auth/me") {
    const reply = meReplies.shift() ?? { status: 500, body: {} };
    return new Response(JSON.stringify(reply.body), { status: reply.status });
  }
  if (input === "/api/v1/auth/login") return new Response(JSON.stringify({ csrf_token: "c", user }), { status: 200 });
  if (input === "/api/v1/auth/sessions") return new Response("[]", { status: 200 });
  if (input === "/api/v1/auth/totp/setup") {
    const setup = { secret: SECRET, otpauth_uri: `otpauth://totp/Bastion?secret=${SECRET}`, qr_svg_data_uri: QR };
    return new Response(JSON.stringify(setup), { status: 200 });
  }
  if (input === "/api/v1/auth/totp/confirm") {
    return new Response(JSON.stringify({ recovery_codes: ["aaaa-bbbb-cccc"] }), { status: 200 });
  }
  return new Response(JSON.stringify({ code: "not_found", message: "no route" }), { status: 404 });
}

async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  });
}

const byTestId = (id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  meReplies = [];
  paths = [];
  bodies = {};
});

async function fill(id: string, value: string): Promise<void> {
  const input = byTestId(id) as HTMLInputElement;
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function press(id: string): Promise<void> {
  await act(() => byTestId(id)!.click());
  await settle();
}

afterEach(() => {
  render(null, root);
  root.remove();
});

describe("two-step enrolment required by the role", () => {
  it("shows only the set-up screen when /auth/me says enrolment is required", async () => {
    meReplies.push({ status: 200, body: { csrf_token: "c", user, enrollment_required: true } });
    await act(() => render(<App api={new ConsoleApi(fakeFetch)} />, root));
    await settle();
    expect(byTestId("enrollment")).not.toBeNull();
    expect(root.textContent).toContain(t.enrollNotice);
    expect(byTestId("totp-setup")).not.toBeNull();
    expect(byTestId("logout")).not.toBeNull();
    // No inbox: the workspace (and its socket) is not started.
    expect(byTestId("status")).toBeNull();
  });

  it("sets up the app with the password first, then opens the console", async () => {
    meReplies.push({ status: 200, body: { csrf_token: "c", user, enrollment_required: true } });
    meReplies.push({ status: 200, body: { csrf_token: "c", user, enrollment_required: true } });
    await act(() => render(<App api={new ConsoleApi(fakeFetch)} />, root));
    await settle();
    await press("totp-setup");
    // A session alone gets no secret: the set-up is asked for only with the password.
    expect(paths).not.toContain("POST /api/v1/auth/totp/setup");
    expect(byTestId("totp-qr")).toBeNull();
    await fill("totp-setup-password", "correct horse battery staple");
    await press("totp-setup-continue");
    expect(bodies["/api/v1/auth/totp/setup"]).toEqual({ password: "correct horse battery staple" });
    expect(byTestId("totp-qr")).not.toBeNull();
    await fill("totp-code", "123456");
    await press("totp-confirm");
    expect(byTestId("recovery-codes")).not.toBeNull();
    meReplies.push({ status: 200, body: { csrf_token: "c", user: { ...user, totp_enabled: true }, enrollment_required: false } });
    await press("totp-done");
    expect(byTestId("enrollment")).toBeNull();
  });

  it("asks /auth/me after a login whether enrolment is required", async () => {
    meReplies.push({ status: 401, body: { code: "not_authenticated", message: "please log in" } });
    meReplies.push({ status: 200, body: { csrf_token: "c", user, enrollment_required: true } });
    await act(() => render(<App api={new ConsoleApi(fakeFetch)} />, root));
    await settle();
    const email = byTestId("login-email") as HTMLInputElement;
    const password = byTestId("login-password") as HTMLInputElement;
    await act(() => {
      email.value = "owner@example.com";
      email.dispatchEvent(new Event("input", { bubbles: true }));
      password.value = "correct horse battery staple";
      password.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(() => byTestId("login-submit")!.click());
    await settle();
    // (The sign-in page also asks which features it may offer: not part of this order.)
    const auth = paths.filter((p) => p !== "GET /api/v1/auth/features");
    expect(auth.slice(0, 3)).toEqual(["GET /api/v1/auth/me", "POST /api/v1/auth/login", "GET /api/v1/auth/me"]);
    expect(byTestId("enrollment")).not.toBeNull();
    expect(byTestId("status")).toBeNull();
  });
});

describe("a role that does not take chats", () => {
  it("opens no socket and no status, and goes to what the role manages", async () => {
    const sockets: string[] = [];
    const RealWebSocket = globalThis.WebSocket;
    globalThis.WebSocket = class {
      constructor(url: string) {
        sockets.push(url);
      }
    } as unknown as typeof WebSocket;
    const editor = { ...user, role: "editor" };
    const fetchFor = (mine: string[]) => async (input: string, init?: RequestInit): Promise<Response> => {
      paths.push(`${init?.method ?? "GET"} ${input}`);
      if (input === "/api/v1/auth/me") return new Response(JSON.stringify({ csrf_token: "c", user: editor }), { status: 200 });
      if (input === "/api/v1/permissions") return new Response(JSON.stringify({ all: mine, mine }), { status: 200 });
      if (input.startsWith("/api/v1/canned") || input.startsWith("/api/v1/departments")) return new Response("[]", { status: 200 });
      return new Response(JSON.stringify({ code: "not_found", message: "no route" }), { status: 404 });
    };
    try {
      await act(() => render(<App api={new ConsoleApi(fetchFor(["canned.manage"]))} />, root));
      await settle();
      await settle(); // the workspace asks for its permissions once it is shown
      expect(sockets).toEqual([]);
      expect(byTestId("status")).toBeNull();
      expect(byTestId("admin-area")).not.toBeNull();
      expect(root.textContent).not.toContain(t.reconnecting);
      await act(() => byTestId("admin")!.click()); // back to the inbox: it says why it is empty
      expect(byTestId("no-chats-role")!.textContent).toContain(t.noChatRole);

      // The same console for a role that takes chats connects as usual.
      render(null, root);
      await act(() => render(<App api={new ConsoleApi(fetchFor(["chat.handle"]))} />, root));
      await settle();
      await settle();
      expect(sockets).toHaveLength(1);
      expect(byTestId("status")).not.toBeNull();
    } finally {
      globalThis.WebSocket = RealWebSocket;
    }
  });
});
