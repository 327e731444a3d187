/**
 * "Forgot password?": asks for a reset link by e-mail. The server answers the same for every
 * address, so this page does too: it never says whether an account exists.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { apiErrorText } from "./account";
import type { ConsoleApi } from "./api";
import { t } from "./strings";

interface Props {
  api: ConsoleApi;
  initialEmail?: string;
  onBack: () => void;
}

export function ForgotPassword({ api, initialEmail = "", onBack }: Props) {
  const [email, setEmail] = useState(initialEmail);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => headingRef.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.requestPasswordReset(email.trim());
      setSent(true);
    } catch (err) {
      setError(apiErrorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="forgot-title" data-testid="forgot-view">
        <div class="brand brand--large" aria-hidden="true">
          B
        </div>
        <h1 id="forgot-title" ref={headingRef} tabIndex={-1}>
          {t.forgotTitle}
        </h1>
        {sent ? (
          <p class="login-notice" role="status" data-testid="forgot-sent">
            {t.forgotSent}
          </p>
        ) : (
          <>
            <p class="muted">{t.forgotIntro}</p>
            <label class="field">
              <span>{t.loginEmail}</span>
              <input
                type="email"
                name="email"
                autocomplete="username"
                required
                data-testid="forgot-email"
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            </label>
            {error && (
              <p class="login-error" role="alert" data-testid="forgot-error">
                {error}
              </p>
            )}
            <button
              class="button button--primary button--block"
              type="submit"
              disabled={busy}
              data-testid="forgot-submit"
            >
              {busy ? t.busy : t.forgotSubmit}
            </button>
          </>
        )}
        <button class="link-button" type="button" data-testid="forgot-back" onClick={onBack}>
          {t.forgotBack}
        </button>
      </form>
    </main>
  );
}
