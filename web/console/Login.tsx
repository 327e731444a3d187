/** Staff sign-in: email, password and an optional one-time code. */
import { useRef, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import type { StaffUser } from "../shared/protocol";
import type { ConsoleApi } from "./api";
import { t } from "./strings";

interface Props {
  api: ConsoleApi;
  notice: string | null;
  onLoggedIn: (user: StaffUser) => void;
}

export function Login({ api, notice, onLoggedIn }: Props) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [otp, setOtp] = useState("");
  const [otpNeeded, setOtpNeeded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const otpRef = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.login(email.trim(), password, otp.trim());
      onLoggedIn(res.user);
    } catch (err) {
      if (err instanceof ApiError && err.code === "otp_required") {
        setOtpNeeded(true);
        otpRef.current?.focus();
      }
      // The server's message is written for people and never says which part was wrong.
      setError(err instanceof ApiError && err.status !== 0 && err.message ? err.message : t.loginFailed);
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
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9 ]*"
            maxLength={10}
            data-testid="login-otp"
            value={otp}
            onInput={(e) => setOtp(e.currentTarget.value)}
          />
          {otpNeeded && <span class="hint">{t.loginOtpRequired}</span>}
        </label>
        {error && (
          <p class="login-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button class="button button--primary button--block" type="submit" disabled={busy} data-testid="login-submit">
          {busy ? t.loginBusy : t.loginSubmit}
        </button>
      </form>
    </main>
  );
}
