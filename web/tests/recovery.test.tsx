import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { App } from "../console/App";
import { ConsoleApi } from "../console/api";
import { EmailOtpSection } from "../console/EmailOtpSection";
import { ForgotPassword } from "../console/ForgotPassword";
import { Login } from "../console/Login";
import { ResetPassword, tokenFromHash } from "../console/ResetPassword";
import { t } from "../console/strings";

type Reply = { status: number; body: unknown };

let root: HTMLElement;
let calls: { url: string; body: Record<string, unknown> }[];
let replies: Reply[];

async function fakeFetch(input: string, init?: RequestInit): Promise<Response> {
  calls.push({ url: input, body: JSON.parse(String(init?.body ?? "{}")) as Record<string, unknown> });
  const reply = replies.shift() ?? { status: 500, body: {} };
  return new Response(reply.status === 204 ? null : JSON.stringify(reply.body), { status: reply.status });
}

const el = (testid: string) => root.querySelector<HTMLInputElement>(`[data-testid="${testid}"]`);

async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  });
}

async function type(testid: string, value: string): Promise<void> {
  const input = el(testid)!;
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function click(testid: string): Promise<void> {
  await act(() => el(testid)!.click());
  await settle();
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  calls = [];
  replies = [];
});

afterEach(() => {
  render(null, root);
  root.remove();
});

const TOKEN = "pr_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

describe("reset token in the fragment", () => {
  it("accepts only a well-formed token", () => {
    expect(tokenFromHash(`#token=${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromHash("#token=pr_short")).toBeNull();
    expect(tokenFromHash("#token=javascript:alert(1)")).toBeNull();
    expect(tokenFromHash("")).toBeNull();
  });
});

describe("forgot password", () => {
  it("shows the same neutral answer the server gives for every address", async () => {
    await act(() => render(<ForgotPassword api={new ConsoleApi(fakeFetch)} initialEmail="a@example.com" onBack={() => undefined} />, root));
    replies.push({ status: 202, body: { message: "whatever" } });
    await click("forgot-submit");
    expect(calls[0]).toEqual({ url: "/api/v1/auth/password-reset", body: { email: "a@example.com" } });
    expect(el("forgot-sent")?.textContent).toBe(t.forgotSent);
  });

  it("says so when mail is off", async () => {
    await act(() => render(<ForgotPassword api={new ConsoleApi(fakeFetch)} initialEmail="a@example.com" onBack={() => undefined} />, root));
    replies.push({ status: 503, body: { code: "mail_unavailable", message: "e-mail is not set up on this server" } });
    await click("forgot-submit");
    expect(el("forgot-error")?.textContent).toBe("E-mail is not set up on this server");
  });

  it("is reached from the sign-in form with the address typed so far", async () => {
    const asked: string[] = [];
    await act(() =>
      render(<Login api={new ConsoleApi(fakeFetch)} notice={null} onLoggedIn={() => undefined} onForgot={(e) => void asked.push(e)} />, root),
    );
    await type("login-email", " ona@example.com ");
    await click("login-forgot");
    expect(asked).toEqual(["ona@example.com"]);
  });
});

describe("Forgot password? on the sign-in page", () => {
  /** Signed out, on a server whose outgoing mail is on or off (or cannot say). */
  const server = (features: Reply) => async (input: string): Promise<Response> => {
    calls.push({ url: input, body: {} });
    const reply =
      input === "/api/v1/auth/features"
        ? features
        : input === "/api/v1/auth/me"
          ? { status: 401, body: { code: "not_authenticated", message: "please log in" } }
          : { status: 404, body: { code: "not_found", message: "no route" } };
    return new Response(JSON.stringify(reply.body), { status: reply.status });
  };
  // /auth/me, then the features: two answers (and a refusal takes a few more turns).
  const settled = async () => {
    for (let i = 0; i < 3; i++) await settle();
  };

  it("is hidden when the server cannot send e-mail", async () => {
    await act(() => render(<App api={new ConsoleApi(server({ status: 200, body: { password_reset_available: false } }))} />, root));
    await settled();
    expect(el("login-email")).not.toBeNull();
    expect(calls.map((c) => c.url)).toContain("/api/v1/auth/features");
    expect(el("login-forgot")).toBeNull();
  });

  it("is offered when mail is set up, and opens the reset request", async () => {
    await act(() => render(<App api={new ConsoleApi(server({ status: 200, body: { password_reset_available: true } }))} />, root));
    await settled();
    await type("login-email", "ona@example.com");
    await click("login-forgot");
    expect(el("forgot-view")).not.toBeNull();
    expect(el("forgot-email")?.value).toBe("ona@example.com");
  });

  it("is offered when the server cannot be asked (the request page explains a refusal)", async () => {
    await act(() => render(<App api={new ConsoleApi(server({ status: 500, body: {} }))} />, root));
    await settled();
    expect(el("login-forgot")).not.toBeNull();
  });
});

describe("reset page", () => {
  it("sets the password with the token, and offers a new link when it is dead", async () => {
    let done = 0;
    await act(() => render(<ResetPassword api={new ConsoleApi(fakeFetch)} token={TOKEN} onDone={() => void done++} onAskAgain={() => undefined} />, root));
    await type("reset-new", "seven violet kettles humming");
    await type("reset-repeat", "seven violet kettles hummin");
    await click("reset-submit");
    expect(calls).toEqual([]);
    expect(el("reset-error")?.textContent).toBe(t.pwMismatch);

    await type("reset-repeat", "seven violet kettles humming");
    replies.push({ status: 204, body: null });
    await click("reset-submit");
    expect(calls[0]).toEqual({
      url: "/api/v1/auth/password-reset/confirm",
      body: { token: TOKEN, new_password: "seven violet kettles humming" },
    });
    expect(el("reset-done")).not.toBeNull();
    await click("reset-signin");
    expect(done).toBe(1);
  });

  it("explains a used or expired link", async () => {
    await act(() => render(<ResetPassword api={new ConsoleApi(fakeFetch)} token={TOKEN} onDone={() => undefined} onAskAgain={() => undefined} />, root));
    await type("reset-new", "seven violet kettles humming");
    await type("reset-repeat", "seven violet kettles humming");
    replies.push({ status: 400, body: { code: "reset_token_invalid", message: "this reset link is not valid any more; ask for a new one" } });
    await click("reset-submit");
    expect(el("reset-error")?.textContent).toContain("This reset link is not valid any more");
    expect(el("reset-submit")).toBeNull();
  });

  it("without a token, says the e-mail's link is needed", async () => {
    await act(() => render(<ResetPassword api={new ConsoleApi(fakeFetch)} token={null} onDone={() => undefined} onAskAgain={() => undefined} />, root));
    expect(el("reset-error")?.textContent).toBe(t.resetNoToken);
  });
});

describe("e-mailed code at sign-in", () => {
  it("is offered once a code is asked for, and sends the password along", async () => {
    await act(() => render(<Login api={new ConsoleApi(fakeFetch)} notice={null} onLoggedIn={() => undefined} />, root));
    expect(el("login-email-code")).toBeNull();
    await type("login-email", "ona@example.com");
    await type("login-password", "correct horse battery staple");
    replies.push({ status: 401, body: { code: "otp_required", message: "enter the code", email_code: true } });
    await click("login-submit");
    replies.push({ status: 202, body: { message: "sent" } });
    await click("login-email-code");
    expect(calls[1]).toEqual({
      url: "/api/v1/auth/login/email-code",
      body: { email: "ona@example.com", password: "correct horse battery staple" },
    });
    expect(el("login-email-code-note")?.textContent).toBe(t.loginEmailCodeSent);
    expect(document.activeElement).toBe(el("login-otp"));
  });
});

describe("codes by e-mail in Account & security", () => {
  const me = (available: boolean, enabled = false) => ({
    status: 200,
    body: { csrf_token: "c", user: { id: "u", email: "ona@example.com", name: "Ona", role: "agent", email_otp_enabled: enabled }, email_otp_available: available },
  });
  const guard = <T,>(fn: () => Promise<T>) => fn();

  it("is hidden where mail is off or the policy forbids it", async () => {
    replies.push(me(false));
    await act(() => render(<EmailOtpSection api={new ConsoleApi(fakeFetch)} guard={guard} email="ona@example.com" />, root));
    await settle();
    expect(el("email-otp-section")).toBeNull();
  });

  it("turns on with the password and the e-mailed code", async () => {
    let enabled = 0;
    replies.push(me(true));
    await act(() =>
      render(<EmailOtpSection api={new ConsoleApi(fakeFetch)} guard={guard} email="ona@example.com" onEnabled={() => void enabled++} />, root),
    );
    await settle();
    expect(el("email-otp-status")?.textContent).toBe(t.totpStatusOff);
    await type("email-otp-password", "correct horse battery staple");
    replies.push({ status: 202, body: { message: "sent" } });
    await click("email-otp-toggle");
    expect(calls[1]).toEqual({ url: "/api/v1/auth/email-otp/enable", body: { password: "correct horse battery staple" } });
    await type("email-otp-code", "1234 5678");
    replies.push({ status: 204, body: null });
    await click("email-otp-confirm");
    expect(calls[2]).toEqual({ url: "/api/v1/auth/email-otp/confirm", body: { code: "12345678" } });
    expect(el("email-otp-status")?.textContent).toBe(t.totpStatusOn);
    expect(enabled).toBe(1);
  });
});
