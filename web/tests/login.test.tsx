import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConsoleApi } from "../console/api";
import { Login } from "../console/Login";
import { t } from "../console/strings";
import type { StaffUser } from "../shared/protocol";

type Reply = { status: number; body: unknown };

let root: HTMLElement;
let bodies: Record<string, unknown>[];
let replies: Reply[];
let loggedIn: StaffUser[];

const user: StaffUser = { id: "u_1", email: "agent@example.com", name: "Jonas", role: "agent", totp_enabled: true };

async function fakeFetch(_input: string, init?: RequestInit): Promise<Response> {
  bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
  const reply = replies.shift() ?? { status: 500, body: {} };
  return new Response(JSON.stringify(reply.body), { status: reply.status });
}

const field = (testid: string) => root.querySelector<HTMLInputElement>(`[data-testid="${testid}"]`)!;

async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  });
}

async function type(testid: string, value: string): Promise<void> {
  const input = field(testid);
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function submit(): Promise<void> {
  await act(() => field("login-submit").click());
  await settle();
}

beforeEach(async () => {
  root = document.createElement("div");
  document.body.append(root);
  bodies = [];
  replies = [];
  loggedIn = [];
  await act(() => {
    render(<Login api={new ConsoleApi(fakeFetch)} notice={null} onLoggedIn={(u) => void loggedIn.push(u)} />, root);
  });
  await type("login-email", "agent@example.com");
  await type("login-password", "correct horse battery staple");
});

afterEach(() => {
  render(null, root);
  root.remove();
});

const error = () => root.querySelector('[data-testid="login-error"]')?.textContent ?? null;

describe("login with a one-time code", () => {
  it("asks for the code after the password, then sends both", async () => {
    replies.push({ status: 401, body: { code: "otp_required", message: "Enter your one-time code." } });
    await submit();
    expect(bodies[0]).toEqual({ email: "agent@example.com", password: "correct horse battery staple" });
    expect(loggedIn).toEqual([]);
    expect(error()).toBeNull(); // a next step, not an error
    expect(root.textContent).toContain(t.loginOtpRequired);
    expect(document.activeElement).toBe(field("login-otp"));
    expect(field("login-otp").required).toBe(true);

    replies.push({ status: 200, body: { csrf_token: "c", user } });
    await type("login-otp", " 123 456 ");
    await submit();
    expect(bodies[1]).toEqual({ email: "agent@example.com", password: "correct horse battery staple", otp: "123456" });
    expect(loggedIn).toEqual([user]);
  });

  it("accepts a recovery code in the same field and shows a refused code's message", async () => {
    replies.push({ status: 401, body: { code: "otp_required", message: "Enter your one-time code." } });
    await submit();
    replies.push({ status: 401, body: { code: "invalid_otp", message: "That code is not valid." } });
    await type("login-otp", "123456");
    await submit();
    expect(error()).toBe("That code is not valid.");
    expect(document.activeElement).toBe(field("login-otp"));

    replies.push({ status: 200, body: { csrf_token: "c", user } });
    await type("login-otp", "abcd-efgh-2345");
    await submit();
    expect(bodies[2]?.otp).toBe("abcd-efgh-2345");
    expect(loggedIn).toEqual([user]);
  });

  it("offers to e-mail a code only when the server says it can", async () => {
    const button = () => root.querySelector('[data-testid="login-email-code"]');
    replies.push({ status: 401, body: { code: "otp_required", message: "Enter the code.", email_code: false } });
    await submit();
    expect(field("login-otp").required).toBe(true);
    expect(button()).toBeNull();
    replies.push({ status: 401, body: { code: "otp_required", message: "Enter the code.", email_code: true } });
    await type("login-otp", "123456");
    await submit();
    expect(button()).not.toBeNull();
  });

  it("shows the server's message when there were too many attempts", async () => {
    replies.push({ status: 429, body: { code: "too_many_attempts", message: "Too many attempts. Try again in 5 minutes." } });
    await submit();
    expect(error()).toBe("Too many attempts. Try again in 5 minutes.");
    expect(loggedIn).toEqual([]);
  });
});
