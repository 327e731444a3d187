/**
 * Staff sign-in: email and password; when the server answers `otp_required`, the one-time code
 * field (a TOTP code or a recovery code) is highlighted and focused, and the form is sent again.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import type { StaffUser } from "../shared/protocol";
import { apiErrorText } from "./account";
import type { ConsoleApi } from "./api";
import { PasskeyLogin } from "./PasskeyLogin";
import { EmailCodeButton } from "./EmailCodeButton";
import { t } from "./strings";

interface Props {
  api: ConsoleApi;
  notice: string | null;
  onLoggedIn: (user: StaffUser) => void;
  /** "Forgot password?" (ForgotPassword.tsx), with the e-mail typed so far. */
  onForgot?: (email: string) => void;
}

export function Login({ api, notice, onLoggedIn, onForgot }: Props) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [otp, setOtp] = useState("");
  const [otpNeeded, setOtpNeeded] = useState(false);
  const [emailCode, setEmailCode] = useState(false);
  const [passkeyStep, setPasskeyStep] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [focusOtp, setFocusOtp] = useState(0);
  const otpRef = useRef<HTMLInputElement>(null);

  // After the re-render, so the field is enabled and highlighted when it gets the focus.
  useEffect(() => {
    const field = otpRef.current;
    if (focusOtp > 0 && field) {
      field.focus();
      field.select();
    }
  }, [focusOtp]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.login(email.trim(), password, otp.replace(/\s+/gu, ""));
      onLoggedIn(res.user);
    } catch (err) {
      const code = err instanceof ApiError ? err.code : "";
      if (code === "otp_required" || code === "invalid_otp") {
        setOtpNeeded(true);
        setFocusOtp((n) => n + 1);
      }
      // Offered only when the server can e-mail this account a code (otp_required says).
      if (code === "otp_required" && err instanceof ApiError) setEmailCode(err.emailCode);
      setPasskeyStep(code === "passkey_required");
      // The password was right and a code (or a passkey) is the next step: a hint, not an error.
      // Otherwise the server's message is written for people and never says which part was wrong.
      const nextStep = (code === "otp_required" && !otp.trim()) || code === "passkey_required";
      setError(nextStep ? null : apiErrorText(err, t.loginFailed));
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div class="brand brand--large" aria-hidden="true">
          B
        </div>
        <h1 id="login-title">{t.loginTitle}</h1>
        {notice && (
          <p class="login-notice" role="status">
            {notice}
          </p>
        )}
        <label class="field">
          <span>{t.loginEmail}</span>
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            data-testid="login-email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span>{t.loginPassword}</span>
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            data-testid="login-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <label class={otpNeeded ? "field field--highlight" : "field"}>
          <span>
            {t.loginOtp} {!otpNeeded && <span class="optional">{t.loginOtpOptional}</span>}
          </span>
          <input
            ref={otpRef}
            type="text"
            name="otp"
            autocomplete="one-time-code"
            autocapitalize="off"
            spellcheck={false}
            maxLength={40}
            required={otpNeeded}
            aria-describedby={otpNeeded ? "login-otp-hint" : undefined}
            data-testid="login-otp"
            value={otp}
            onInput={(e) => setOtp(e.currentTarget.value)}
          />
          {otpNeeded && (
            <span class="hint" id="login-otp-hint" role="status">
              {t.loginOtpRequired}
            </span>
          )}
        </label>
        {otpNeeded && emailCode && (
          <EmailCodeButton api={api} email={email} password={password} onSent={() => setFocusOtp((n) => n + 1)} />
        )}
        {error && (
          <p class="login-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button class="button button--primary button--block" type="submit" disabled={busy} data-testid="login-submit">
          {busy ? t.loginBusy : t.loginSubmit}
        </button>
        <PasskeyLogin
          api={api}
          secondStep={passkeyStep ? { email: email.trim(), password } : null}
          onLoggedIn={onLoggedIn}
          onError={setError}
        />
        {onForgot && (
          <button class="link-button" type="button" data-testid="login-forgot" onClick={() => onForgot(email.trim())}>
            {t.forgotLink}
          </button>
        )}
      </form>
    </main>
  );
}
