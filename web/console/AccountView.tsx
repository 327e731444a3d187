/** "Account & security": two-step login (TOTP), signed-in sessions and the password. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { format } from "../shared/i18n";
import type { StaffSessionInfo, TotpSetupResponse } from "../shared/protocol";
import {
  apiErrorText,
  groupSecret,
  isSessionGone,
  isWrongPassword,
  normaliseCode,
  passwordErrorField,
  passwordFormProblem,
  safeOtpauthUri,
  safeQrSrc,
  sessionRows,
} from "./account";
import type { ConsoleApi } from "./api";
import { PasskeysSection } from "./Passkeys";
import { EmailOtpSection } from "./EmailOtpSection";
import { t } from "./strings";

/** Relative "last active" times are refreshed this often. */
const CLOCK_TICK_MS = 30_000;

interface Props {
  api: ConsoleApi;
  email: string;
  /** Two-step login state as last known (from /auth/me); re-read when the view opens. */
  totpEnabled: boolean;
  /** TOTP is on but its stored secret does not open (/auth/me `totp_unreadable`). */
  totpUnreadable?: boolean;
  waiting: number;
  onBack: () => void;
  onSessionGone: () => void;
  onTotpChanged: (enabled: boolean) => void;
}

type Feedback = { kind: "error" | "ok"; text: string } | null;

export function AccountView({
  api,
  email,
  totpEnabled,
  totpUnreadable = false,
  waiting,
  onBack,
  onSessionGone,
  onTotpChanged,
}: Props) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [sessionsVersion, setSessionsVersion] = useState(0);
  const guard = useSessionGuard(onSessionGone);

  useEffect(() => headingRef.current?.focus(), []);

  return (
    <section class="account" aria-labelledby="account-title" data-testid="account-view">
      <header class="account-header">
        <h1 id="account-title" ref={headingRef} tabIndex={-1}>
          {t.accountTitle}
        </h1>
        <button class="button" type="button" data-testid="account-back" onClick={onBack}>
          <span aria-hidden="true">{"\u2190"}</span>
          {t.backToInbox}
          {waiting > 0 && <span class="count">{format(t.waitingCount, { count: waiting })}</span>}
        </button>
      </header>
      <TotpSection
        api={api}
        guard={guard}
        initiallyEnabled={totpEnabled}
        initiallyUnreadable={totpUnreadable}
        onChanged={onTotpChanged}
        onDone={() => undefined}
      />
      <PasskeysSection api={api} guard={guard} />
      <EmailOtpSection api={api} guard={guard} email={email} />
      <SessionsSection api={api} guard={guard} version={sessionsVersion} />
      <PasswordSection api={api} guard={guard} email={email} onChanged={() => setSessionsVersion((v) => v + 1)} />
    </section>
  );
}

export type Guard = <T>(fn: () => Promise<T>) => Promise<T>;

/** Runs requests so that a vanished session sends the person back to the login form. */
export function useSessionGuard(onSessionGone: () => void): Guard {
  const gone = useRef(onSessionGone);
  gone.current = onSessionGone;
  return useCallback(async <T,>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (isSessionGone(err)) gone.current();
      throw err;
    }
  }, []);
}

function FeedbackLine({ feedback, testid }: { feedback: Feedback; testid: string }) {
  if (!feedback) return null;
  return feedback.kind === "error" ? (
    <p class="form-error" role="alert" data-testid={testid}>
      {feedback.text}
    </p>
  ) : (
    <p class="form-ok" role="status" data-testid={testid}>
      {feedback.text}
    </p>
  );
}

// ---- two-step login ---------------------------------------------------------------------

type TotpStep =
  | { kind: "status" }
  // The password first: the secret is shown only to whoever knows it, never to a session alone.
  | { kind: "password" }
  | { kind: "setup"; setup: TotpSetupResponse }
  | { kind: "codes"; codes: string[] };

interface TotpProps {
  api: ConsoleApi;
  guard: Guard;
  initiallyEnabled: boolean;
  /** On, but its secret does not open: offer to set it up again rather than show it working. */
  initiallyUnreadable?: boolean;
  onChanged: (enabled: boolean) => void;
  /** The recovery codes have been acknowledged ("done"). */
  onDone: () => void;
}

export function TotpSection({
  api,
  guard,
  initiallyEnabled,
  initiallyUnreadable = false,
  onChanged,
  onDone,
}: TotpProps) {
  const [enabled, setEnabled] = useState(initiallyEnabled);
  const [unreadable, setUnreadable] = useState(initiallyUnreadable);
  const [step, setStep] = useState<TotpStep>({ kind: "status" });
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [passwordWrong, setPasswordWrong] = useState(false);
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const [copied, setCopied] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const codesRef = useRef<HTMLHeadingElement>(null);

  // The state may have changed in another tab or session: ask the server once on opening.
  useEffect(() => {
    let live = true;
    api.me().then(
      (res) => {
        if (live && typeof res.user.totp_enabled === "boolean") {
          setEnabled(res.user.totp_enabled);
          setUnreadable(res.user.totp_unreadable === true);
        }
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api]);

  useEffect(() => {
    if (step.kind === "password") passwordRef.current?.focus();
    if (step.kind === "setup") codeRef.current?.focus();
    // The heading, not the "done" button: a stray Enter must not hide the codes unseen.
    if (step.kind === "codes") codesRef.current?.focus();
  }, [step.kind]);

  const run = async (fn: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    setFeedback(null);
    try {
      await guard(fn);
    } catch (err) {
      setFeedback({ kind: "error", text: isWrongPassword(err) ? t.totpWrongPassword : apiErrorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const toStep = (next: TotpStep) => {
    setStep(next);
    setPassword("");
    setPasswordWrong(false);
    setFeedback(null);
  };

  const startSetup = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      let setup: TotpSetupResponse;
      try {
        setup = await api.totpSetup(password);
      } catch (err) {
        setPasswordWrong(isWrongPassword(err));
        passwordRef.current?.focus();
        throw err;
      } finally {
        setPassword("");
      }
      setPasswordWrong(false);
      setCode("");
      setStep({ kind: "setup", setup });
    });
  };

  const confirm = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      try {
        const res = await api.totpConfirm(normaliseCode(code));
        setEnabled(true);
        setUnreadable(false); // the new secret replaced the one that did not open
        onChanged(true);
        setStep({ kind: "codes", codes: Array.isArray(res.recovery_codes) ? res.recovery_codes : [] });
      } catch (err) {
        setCode("");
        codeRef.current?.focus();
        throw err;
      }
    });
  };

  const disable = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      try {
        await api.totpDisable(password);
      } finally {
        setPassword("");
      }
      setEnabled(false);
      setUnreadable(false);
      onChanged(false);
      setFeedback({ kind: "ok", text: t.totpDisabled });
    });
  };

  const copyCodes = async (codes: string[]) => {
    try {
      await navigator.clipboard.writeText(codes.join("\n"));
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  let body;
  if (step.kind === "codes") {
    body = (
      <div class="recovery">
        <h3 ref={codesRef} tabIndex={-1}>
          {t.totpCodesTitle}
        </h3>
        <p class="notice notice--warn" role="alert">
          {t.totpCodesNotice}
        </p>
        <ol class="recovery-codes" data-testid="recovery-codes">
          {step.codes.map((c, i) => (
            <li key={i}>
              <code>{c}</code>
            </li>
          ))}
        </ol>
        <div class="actions">
          <button class="button" type="button" onClick={() => void copyCodes(step.codes)}>
            {copied ? t.totpCodesCopied : t.totpCodesCopy}
          </button>
          <button
            class="button button--primary"
            type="button"
            data-testid="totp-done"
            onClick={() => {
              setStep({ kind: "status" });
              setCopied(false);
              setFeedback({ kind: "ok", text: t.totpEnabledNow });
              onDone();
            }}
          >
            {t.totpCodesDone}
          </button>
        </div>
      </div>
    );
  } else if (step.kind === "password") {
    body = (
      <form class="stack" onSubmit={startSetup}>
        <p>{t.totpSetupPasswordIntro}</p>
        <label class="field field--narrow">
          <span>{t.totpSetupPassword}</span>
          <input
            ref={passwordRef}
            type="password"
            name="password"
            autocomplete="current-password"
            required
            aria-invalid={passwordWrong ? "true" : undefined}
            data-testid="totp-setup-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <FeedbackLine feedback={feedback} testid="totp-error" />
        <SetupActions
          busy={busy}
          submitTestid="totp-setup-continue"
          label={t.totpSetupContinue}
          onCancel={() => toStep({ kind: "status" })}
        />
      </form>
    );
  } else if (step.kind === "setup") {
    const qr = safeQrSrc(step.setup.qr_svg_data_uri);
    const link = safeOtpauthUri(step.setup.otpauth_uri);
    body = (
      <form class="totp-setup" onSubmit={confirm}>
        <p>{t.totpScan}</p>
        {qr && <img class="totp-qr" data-testid="totp-qr" src={qr} alt={t.totpQrAlt} width={200} height={200} />}
        <p class="muted">{t.totpManual}</p>
        <p>
          <code class="secret" data-testid="totp-secret">
            {groupSecret(step.setup.secret)}
          </code>
        </p>
        {link && (
          <p>
            <a href={link}>{t.totpOpenApp}</a>
          </p>
        )}
        <p>{t.totpEnterCode}</p>
        <label class="field field--narrow">
          <span>{t.totpCode}</span>
          <input
            ref={codeRef}
            type="text"
            name="code"
            inputMode="numeric"
            autocomplete="one-time-code"
            spellcheck={false}
            maxLength={12}
            required
            data-testid="totp-code"
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
        </label>
        <FeedbackLine feedback={feedback} testid="totp-error" />
        <SetupActions
          busy={busy}
          submitTestid="totp-confirm"
          label={t.totpConfirm}
          onCancel={() => toStep({ kind: "status" })}
        />
      </form>
    );
  } else if (enabled && !unreadable) {
    body = (
      <form class="stack" onSubmit={disable}>
        <p data-testid="totp-enabled">{t.totpOn}</p>
        <FeedbackLine feedback={feedback} testid="totp-error" />
        <p class="muted">{t.totpDisableIntro}</p>
        <div class="inline-form">
          <label class="field field--narrow">
            <span>{t.totpDisablePassword}</span>
            <input
              type="password"
              name="password"
              autocomplete="current-password"
              required
              data-testid="totp-disable-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          <button class="button button--danger" type="submit" disabled={busy} data-testid="totp-disable">
            {busy ? t.busy : t.totpDisable}
          </button>
        </div>
      </form>
    );
  } else {
    // Off, or on but its secret does not open: the server refuses the app's codes until it
    // is set up again (recovery codes still work), so the section offers the set-up rather
    // than showing the app as working.
    body = (
      <div class="stack">
        {unreadable ? (
          <p class="notice notice--warn" role="alert" data-testid="totp-unreadable">
            {t.totpUnreadable}
          </p>
        ) : (
          <p>{t.totpOff}</p>
        )}
        <FeedbackLine feedback={feedback} testid="totp-error" />
        <div class="actions">
          <button
            class="button button--primary"
            type="button"
            disabled={busy}
            data-testid="totp-setup"
            onClick={() => toStep({ kind: "password" })}
          >
            {busy ? t.busy : unreadable ? t.totpSetupAgain : t.totpSetup}
          </button>
        </div>
      </div>
    );
  }

  return (
    <section class="card" aria-labelledby="totp-title" data-testid="totp-section">
      <div class="card-head">
        <h2 id="totp-title">{t.totpTitle}</h2>
        <span
          class={enabled ? (unreadable ? "pill pill--warn" : "pill pill--on") : "pill"}
          data-testid="totp-status"
        >
          {enabled ? (unreadable ? t.totpStatusUnreadable : t.totpStatusOn) : t.totpStatusOff}
        </span>
      </div>
      <p class="muted">{t.totpIntro}</p>
      {body}
    </section>
  );
}

// ---- sessions ---------------------------------------------------------------------------

function SessionsSection({ api, guard, version }: { api: ConsoleApi; guard: Guard; version: number }) {
  const [sessions, setSessions] = useState<StaffSessionInfo[] | null>(null);
  const [loadFailed, setLoadFailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(async () => {
    setLoadFailed(false);
    try {
      const list = await guard(() => api.sessions());
      setSessions(Array.isArray(list) ? list : []);
      setNow(Date.now());
    } catch {
      setLoadFailed(true);
    }
  }, [api, guard]);

  useEffect(() => {
    void load();
  }, [load, version]);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), CLOCK_TICK_MS);
    return () => clearInterval(timer);
  }, []);

  const run = async (fn: () => Promise<void>, done: string | null) => {
    if (busy) return;
    setBusy(true);
    setFeedback(null);
    try {
      await guard(fn);
      if (done) setFeedback({ kind: "ok", text: done });
    } catch (err) {
      setFeedback({ kind: "error", text: apiErrorText(err) });
    } finally {
      setBusy(false);
      await load();
    }
  };

  const rows = sessions ? sessionRows(sessions, now) : [];
  const others = rows.filter((r) => !r.current).length;

  return (
    <section class="card" aria-labelledby="sessions-title" data-testid="sessions-section">
      <div class="card-head">
        <h2 id="sessions-title">{t.sessionsTitle}</h2>
      </div>
      <p class="muted">{t.sessionsIntro}</p>
      {loadFailed ? (
        <p class="form-error" role="alert">
          {t.sessionsLoadFailed}{" "}
          <button class="link-button" type="button" onClick={() => void load()}>
            {t.retry}
          </button>
        </p>
      ) : sessions === null ? (
        <p class="muted" role="status">
          {t.loading}
        </p>
      ) : rows.length === 0 ? (
        <p class="muted">{t.sessionsEmpty}</p>
      ) : (
        <ul class="session-list">
          {rows.map((r) => (
            <li
              key={r.id}
              class={r.current ? "session session--current" : "session"}
              data-testid="session-item"
              data-current={r.current ? "true" : "false"}
            >
              <div class="session-info">
                <span class="session-device" title={r.userAgent || undefined}>
                  {r.device}
                  {r.current && <span class="tag tag--accent">{t.sessionThisDevice}</span>}
                </span>
                <span class="session-meta">
                  <span class="session-ip">{r.ip}</span>
                  <time dateTime={r.lastSeenIso} title={format(t.sessionSignedIn, { when: r.signedIn })}>
                    {format(t.sessionLastSeen, { when: r.lastSeen })}
                  </time>
                </span>
              </div>
              {!r.current && (
                <button
                  class="button button--danger"
                  type="button"
                  disabled={busy}
                  data-testid="session-end"
                  aria-label={format(t.sessionEndLabel, { device: r.device })}
                  onClick={() => void run(() => api.endSession(r.id), null)}
                >
                  {t.sessionEnd}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <FeedbackLine feedback={feedback} testid="sessions-feedback" />
      <div class="actions">
        <button
          class="button"
          type="button"
          disabled={busy || others === 0}
          data-testid="sessions-end-others"
          onClick={() => void run(() => api.endOtherSessions(), t.sessionsEnded)}
        >
          {t.sessionsEndOthers}
        </button>
      </div>
    </section>
  );
}

// ---- password ---------------------------------------------------------------------------

interface PasswordProps {
  api: ConsoleApi;
  guard: Guard;
  email: string;
  onChanged: () => void;
}

function PasswordSection({ api, guard, email, onChanged }: PasswordProps) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const [badField, setBadField] = useState<"current" | "new" | "repeat" | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const problem = passwordFormProblem(next, repeat);
    if (problem) {
      setBadField("repeat");
      setFeedback({ kind: "error", text: problem });
      return;
    }
    setBusy(true);
    setFeedback(null);
    setBadField(null);
    try {
      await guard(() => api.changePassword(current, next));
      setCurrent("");
      setNext("");
      setRepeat("");
      setFeedback({ kind: "ok", text: t.pwChanged });
      // Re-read the CSRF token in case the server rotated this session along with the password.
      await guard(() => api.me()).catch(() => undefined);
      onChanged();
    } catch (err) {
      setBadField(passwordErrorField(err));
      setFeedback({ kind: "error", text: apiErrorText(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="password-title" data-testid="password-section">
      <div class="card-head">
        <h2 id="password-title">{t.passwordTitle}</h2>
      </div>
      <p class="muted">{t.passwordIntro}</p>
      <form class="stack password-form" onSubmit={submit}>
        {/* Lets password managers file the new password under the right account. */}
        <input type="email" name="username" autocomplete="username" value={email} readOnly hidden aria-hidden="true" />
        <label class="field field--narrow">
          <span>{t.pwCurrent}</span>
          <input
            type="password"
            name="current-password"
            autocomplete="current-password"
            required
            aria-invalid={badField === "current" ? "true" : undefined}
            data-testid="pw-current"
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label class="field field--narrow">
          <span>{t.pwNew}</span>
          <input
            type="password"
            name="new-password"
            autocomplete="new-password"
            required
            aria-invalid={badField === "new" ? "true" : undefined}
            aria-describedby="pw-hint"
            data-testid="pw-new"
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
          <span class="hint" id="pw-hint">
            {t.pwHint}
          </span>
        </label>
        <label class="field field--narrow">
          <span>{t.pwRepeat}</span>
          <input
            type="password"
            name="repeat-password"
            autocomplete="new-password"
            required
            aria-invalid={badField === "repeat" ? "true" : undefined}
            data-testid="pw-repeat"
            value={repeat}
            onInput={(e) => setRepeat(e.currentTarget.value)}
          />
        </label>
        <FeedbackLine feedback={feedback} testid="pw-feedback" />
        <div class="actions">
          <button class="button button--primary" type="submit" disabled={busy} data-testid="pw-submit">
            {busy ? t.busy : t.pwSubmit}
          </button>
        </div>
      </form>
    </section>
  );
}

/** The set-up steps' buttons: go on (submits the step's form), or back to the status. */
function SetupActions(props: { busy: boolean; submitTestid: string; label: string; onCancel: () => void }) {
  return (
    <div class="actions">
      <button class="button button--primary" type="submit" disabled={props.busy} data-testid={props.submitTestid}>
        {props.busy ? t.busy : props.label}
      </button>
      <button class="button button--ghost" type="button" disabled={props.busy} data-testid="totp-cancel" onClick={props.onCancel}>
        {t.totpCancel}
      </button>
    </div>
  );
}
