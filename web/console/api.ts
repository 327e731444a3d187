/**
 * The console's REST calls. The session cookie authenticates; the CSRF token from login or
 * /auth/me is kept in memory only (never in storage) and sent on every write.
 */
import { ApiError, fetchEvents, requestJson, uploadFile, type Fetch, type RequestOptions } from "../shared/http";
import type {
  LoginResponse,
  MeResponse,
  SeqEvent,
  StaffSessionInfo,
  TotpConfirmResponse,
  TotpSetupResponse,
  UploadResponse,
} from "../shared/protocol";

/** `GET /api/v1/auth/features`: what the sign-in page may offer before anyone signs in. */
export interface SignInFeatures {
  /** Outgoing mail is set up, so "Forgot password?" can deliver its link. */
  password_reset_available: boolean;
}

export interface EraseResult {
  visitors: number;
  counts: Record<string, number>;
  scrubbed: boolean;
}

export class ConsoleApi {
  private csrf: string | null = null;

  constructor(private readonly fetchFn: Fetch = (input, init) => fetch(input, init)) {}

  /** A JSON call with the session cookie; writes carry the CSRF token (the admin area uses it too). */
  call<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const method = options.method ?? "GET";
    const headers = { ...options.headers };
    if (method !== "GET" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    return requestJson<T>(path, { ...options, headers, credentials: "same-origin" }, this.fetchFn);
  }

  /** For feature modules' own calls (passkeys-api.ts): same cookie and CSRF handling. */
  request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.call<T>(path, options);
  }

  /** A login answered by another route (a passkey): keep its CSRF token. */
  adopt(res: LoginResponse): LoginResponse {
    this.csrf = res.csrf_token;
    return res;
  }

  /** Shares a file in a conversation (cookie + CSRF token, like every write). */
  upload(conversation: string, file: File): Promise<UploadResponse> {
    const headers: Record<string, string> = this.csrf ? { "X-CSRF-Token": this.csrf } : {};
    return uploadFile(conversation, file, file.name, headers, this.fetchFn);
  }

  async me(): Promise<MeResponse> {
    const res = await this.call<MeResponse>("/api/v1/auth/me");
    this.csrf = res.csrf_token;
    return res;
  }

  async login(email: string, password: string, otp: string): Promise<LoginResponse> {
    const body: { email: string; password: string; otp?: string } = { email, password };
    if (otp) body.otp = otp;
    const res = await this.call<LoginResponse>("/api/v1/auth/login", { method: "POST", body });
    this.csrf = res.csrf_token;
    return res;
  }

  async logout(): Promise<void> {
    try {
      await this.call<unknown>("/api/v1/auth/logout", { method: "POST", body: {} });
    } finally {
      this.csrf = null;
    }
  }

  /**
   * A new TOTP secret, for the current password (a session alone gets none); two-step login
   * stays off until `totpConfirm` succeeds.
   */
  totpSetup(password: string): Promise<TotpSetupResponse> {
    return this.call<TotpSetupResponse>("/api/v1/auth/totp/setup", { method: "POST", body: { password } });
  }

  totpConfirm(code: string): Promise<TotpConfirmResponse> {
    return this.call<TotpConfirmResponse>("/api/v1/auth/totp/confirm", { method: "POST", body: { code } });
  }

  async totpDisable(password: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/totp/disable", { method: "POST", body: { password } });
  }

  sessions(): Promise<StaffSessionInfo[]> {
    return this.call<StaffSessionInfo[]>("/api/v1/auth/sessions");
  }

  async endSession(id: string): Promise<void> {
    await this.call<unknown>(`/api/v1/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  async endOtherSessions(): Promise<void> {
    await this.call<unknown>("/api/v1/auth/sessions/end-others", { method: "POST", body: {} });
  }

  /** Also ends the account's other sessions (server side); this one stays signed in. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/password", {
      method: "POST",
      body: { current_password: currentPassword, new_password: newPassword },
    });
  }

  /** Everything stored about a person, as a ZIP (the body is not JSON). */
  async exportPerson(email: string): Promise<{ blob: Blob; filename: string }> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.csrf) headers["X-CSRF-Token"] = this.csrf;
    let response: Response;
    try {
      response = await this.fetchFn("/api/v1/admin/gdpr/export", {
        method: "POST",
        headers,
        body: JSON.stringify({ email }),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, { message: err instanceof Error ? err.message : "network error" });
    }
    if (!response.ok) {
      let body: unknown = {};
      try {
        body = await response.json();
      } catch {
        body = {};
      }
      throw new ApiError(response.status, typeof body === "object" && body !== null ? body : {});
    }
    const match = /filename="([A-Za-z0-9._-]+)"/u.exec(response.headers.get("Content-Disposition") ?? "");
    return { blob: await response.blob(), filename: match?.[1] ?? "person-export.zip" };
  }

  erasePerson(email: string, reason: string): Promise<EraseResult> {
    return this.call<EraseResult>("/api/v1/admin/gdpr/erase", { method: "POST", body: { email, reason } });
  }

  // ---- account recovery and e-mailed codes (no session needed for the first four) ----

  features(): Promise<SignInFeatures> {
    return this.call<SignInFeatures>("/api/v1/auth/features");
  }

  /** Always the same answer for unknown addresses; the link goes to the account's mailbox. */
  async requestPasswordReset(email: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/password-reset", { method: "POST", body: { email } });
  }

  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/password-reset/confirm", {
      method: "POST",
      body: { token, new_password: newPassword },
    });
  }

  /** After the password step: e-mail a sign-in code instead of using the authenticator app. */
  async requestLoginCode(email: string, password: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/login/email-code", { method: "POST", body: { email, password } });
  }

  async emailOtpEnable(password: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/email-otp/enable", { method: "POST", body: { password } });
  }

  async emailOtpConfirm(code: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/email-otp/confirm", { method: "POST", body: { code } });
  }

  async emailOtpDisable(password: string): Promise<void> {
    await this.call<unknown>("/api/v1/auth/email-otp/disable", { method: "POST", body: { password } });
  }

  events(conversation: string, after: number): Promise<SeqEvent[]> {
    return fetchEvents(conversation, after, { credentials: "same-origin" }, this.fetchFn);
  }
}
