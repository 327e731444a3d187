/** "Codes by e-mail" in Account & security: turn e-mailed sign-in codes on (confirmed with a code) or off. */
import { useEffect, useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { apiErrorText, normaliseCode } from "./account";
import type { Guard } from "./AccountView";
import type { ConsoleApi } from "./api";
import { t } from "./strings";

interface Props {
  api: ConsoleApi;
  guard: Guard;
  email: string;
  initiallyEnabled?: boolean;
  /** Called once e-mailed codes are confirmed on (the enrolment screen moves on). */
  onEnabled?: () => void;
}

type Step = "status" | "code";

export function EmailOtpSection({ api, guard, email, initiallyEnabled = false, onEnabled }: Props) {
  const [enabled, setEnabled] = useState(initiallyEnabled);
  // Shown only where mail is set up and the policy allows it (or to turn it off).
  const [available, setAvailable] = useState(false);
  const [step, setStep] = useState<Step>("status");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<{ ok: boolean; text: string } | null>(null);

  // The current state from the server, as the two-step section does on opening.
  useEffect(() => {
    let live = true;
    api.me().then(
      (res) => {
        if (!live) return;
        if (typeof res.user.email_otp_enabled === "boolean") setEnabled(res.user.email_otp_enabled);
        setAvailable(res.email_otp_available === true);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api]);

  const run = async (fn: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    setFeedback(null);
    try {
      await guard(fn);
    } catch (err) {
      setFeedback({ ok: false, text: apiErrorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const submitPassword = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      try {
        if (enabled) {
          await api.emailOtpDisable(password);
          setEnabled(false);
          setFeedback({ ok: true, text: t.emailOtpDisabled });
        } else {
          await api.emailOtpEnable(password);
          setStep("code");
          setFeedback({ ok: true, text: t.emailOtpCodeSent });
        }
      } finally {
        setPassword("");
      }
    });
  };

  const submitCode = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      try {
        await api.emailOtpConfirm(normaliseCode(code));
      } finally {
        setCode("");
      }
      setEnabled(true);
      setStep("status");
      setFeedback({ ok: true, text: t.emailOtpEnabled });
      onEnabled?.();
    });
  };

  const note = feedback && (
    <p class={feedback.ok ? "form-ok" : "form-error"} role={feedback.ok ? "status" : "alert"} data-testid="email-otp-feedback">
      {feedback.text}
    </p>
  );

  if (!available && !enabled) return null;

  return (
    <section class="card" aria-labelledby="email-otp-title" data-testid="email-otp-section">
      <div class="card-head">
        <h2 id="email-otp-title">{t.emailOtpTitle}</h2>
        <span class={enabled ? "pill pill--on" : "pill"} data-testid="email-otp-status">
          {enabled ? t.totpStatusOn : t.totpStatusOff}
        </span>
      </div>
      <p class="muted">{format(t.emailOtpIntro, { email })}</p>
      {step === "code" ? (
        <form class="stack" onSubmit={submitCode}>
          {note}
          <div class="inline-form">
            <label class="field field--narrow">
              <span>{t.emailOtpCode}</span>
              <input
                type="text"
                name="code"
                inputMode="numeric"
                autocomplete="one-time-code"
                maxLength={12}
                required
                data-testid="email-otp-code"
                value={code}
                onInput={(e) => setCode(e.currentTarget.value)}
              />
            </label>
            <button class="button button--primary" type="submit" disabled={busy} data-testid="email-otp-confirm">
              {busy ? t.busy : t.emailOtpConfirm}
            </button>
          </div>
        </form>
      ) : (
        <form class="stack" onSubmit={submitPassword}>
          <p>{enabled ? t.emailOtpOn : t.emailOtpOff}</p>
          {note}
          <div class="inline-form">
            <label class="field field--narrow">
              <span>{t.emailOtpEnablePassword}</span>
              <input
                type="password"
                name="password"
                autocomplete="current-password"
                required
                data-testid="email-otp-password"
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
            <button
              class={enabled ? "button button--danger" : "button button--primary"}
              type="submit"
              disabled={busy}
              data-testid="email-otp-toggle"
            >
              {busy ? t.busy : enabled ? t.emailOtpDisable : t.emailOtpEnable}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
