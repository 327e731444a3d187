/**
 * The page a reset e-mail links to: `/console/reset-password#token=…`. The token travels in the
 * fragment, which browsers send neither to the server nor in `Referer`; it is read once and
 * wiped from the address bar and history before anything else happens.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import { apiErrorText, passwordFormProblem } from "./account";
import type { ConsoleApi } from "./api";
import { t } from "./strings";

export const RESET_PATH = "/console/reset-password";

/** The token in a `#token=…` fragment, or null. */
export function tokenFromHash(hash: string): string | null {
  const value = new URLSearchParams(hash.replace(/^#/u, "")).get("token");
  return value && /^pr_[A-Za-z0-9_-]{20,200}$/u.test(value) ? value : null;
}

/** Reads the token and removes it from the URL (and so from history and bookmarks). */
export function takeResetToken(): string | null {
  const token = tokenFromHash(window.location.hash);
  if (window.location.hash) window.history.replaceState(null, "", window.location.pathname);
  return token;
}

interface Props {
  api: ConsoleApi;
  token: string | null;
  onDone: () => void;
  onAskAgain: () => void;
}

export function ResetPassword({ api, token, onDone, onAskAgain }: Props) {
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [linkDead, setLinkDead] = useState(token === null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => headingRef.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || token === null) return;
    const problem = passwordFormProblem(next, repeat);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.confirmPasswordReset(token, next);
      setNext("");
      setRepeat("");
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === "reset_token_invalid") setLinkDead(true);
      setError(apiErrorText(err));
    } finally {
      setBusy(false);
    }
  };

  let body;
  if (done) {
    body = (
      <>
        <p class="login-notice" role="status" data-testid="reset-done">
          {t.resetDone}
        </p>
        <button class="button button--primary button--block" type="button" data-testid="reset-signin" onClick={onDone}>
          {t.loginSubmit}
        </button>
      </>
    );
  } else if (linkDead) {
    body = (
      <>
        <p class="login-error" role="alert" data-testid="reset-error">
          {error ?? t.resetNoToken}
        </p>
        <button class="button button--primary button--block" type="button" onClick={onAskAgain}>
          {t.resetAskAgain}
        </button>
      </>
    );
  } else {
    body = (
      <>
        <p class="muted">{t.resetIntro}</p>
        <label class="field">
          <span>{t.pwNew}</span>
          <input
            type="password"
            name="new-password"
            autocomplete="new-password"
            required
            aria-describedby="reset-hint"
            data-testid="reset-new"
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
          <span class="hint" id="reset-hint">
            {t.pwHint}
          </span>
        </label>
        <label class="field">
          <span>{t.pwRepeat}</span>
          <input
            type="password"
            name="repeat-password"
            autocomplete="new-password"
            required
            data-testid="reset-repeat"
            value={repeat}
            onInput={(e) => setRepeat(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="login-error" role="alert" data-testid="reset-error">
            {error}
          </p>
        )}
        <button class="button button--primary button--block" type="submit" disabled={busy} data-testid="reset-submit">
          {busy ? t.busy : t.resetSubmit}
        </button>
      </>
    );
  }

  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="reset-title" data-testid="reset-view">
        <div class="brand brand--large" aria-hidden="true">
          B
        </div>
        <h1 id="reset-title" ref={headingRef} tabIndex={-1}>
          {t.resetTitle}
        </h1>
        {body}
      </form>
    </main>
  );
}
