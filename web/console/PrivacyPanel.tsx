/** Admins: export or erase everything stored about a person (POST /api/v1/admin/gdpr/…). */
import { useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { ApiError } from "../shared/http";
import { apiErrorText } from "./account";
import type { ConsoleApi } from "./api";
import { t } from "./strings";

type Feedback = { kind: "error" | "ok"; text: string } | null;

/** Roles whose permission set includes `privacy.gdpr` (docs/security.md). */
export function mayManagePrivacy(role: string): boolean {
  return role === "admin" || role === "owner";
}

/** Hands a downloaded file to the browser; the object URL lives only for the click. */
function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function PrivacyPanel({ api, onSessionGone }: { api: ConsoleApi; onSessionGone: () => void }) {
  const [email, setEmail] = useState("");
  const [confirm, setConfirm] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);

  const run = async (fn: () => Promise<string>) => {
    setBusy(true);
    setFeedback(null);
    try {
      setFeedback({ kind: "ok", text: await fn() });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onSessionGone();
      const text = err instanceof ApiError && err.code === "not_found" ? t.privacyNothing : apiErrorText(err);
      setFeedback({ kind: "error", text });
    } finally {
      setBusy(false);
    }
  };

  const doExport = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const { blob, filename } = await api.exportPerson(email.trim());
      saveFile(blob, filename);
      return t.privacyExported;
    });
  };

  const doErase = (e: Event) => {
    e.preventDefault();
    if (confirm.trim().toLowerCase() !== email.trim().toLowerCase()) {
      setFeedback({ kind: "error", text: t.privacyMismatch });
      return;
    }
    if (!reason.trim()) {
      // Spaces pass the field's "required" and were refused by the server in its words.
      setFeedback({ kind: "error", text: t.privacyReasonNeeded });
      return;
    }
    void run(async () => {
      const result = await api.erasePerson(email.trim(), reason.trim());
      setConfirm("");
      return format(t.privacyErased, { count: result.visitors });
    });
  };

  return (
    <section class="card" aria-labelledby="privacy-title" data-testid="privacy-panel">
      <div class="card-head">
        <h2 id="privacy-title">{t.privacyTitle}</h2>
      </div>
      <p>{t.privacyIntro}</p>
      <form class="inline-form" onSubmit={doExport}>
        <label class="field field--narrow">
          <span>{t.privacyEmail}</span>
          <input
            type="email"
            required
            maxLength={254}
            autocomplete="off"
            data-testid="privacy-email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <button class="button" type="submit" disabled={busy} data-testid="privacy-export">
          {t.privacyExport}
        </button>
      </form>
      <h3>{t.privacyEraseTitle}</h3>
      <p>{t.privacyEraseHint}</p>
      <form class="stack" onSubmit={doErase}>
        <label class="field field--narrow">
          <span>{t.privacyConfirm}</span>
          <input
            type="email"
            required
            maxLength={254}
            autocomplete="off"
            data-testid="privacy-confirm"
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </label>
        <label class="field field--narrow">
          <span>{t.privacyReason}</span>
          <input
            type="text"
            required
            maxLength={500}
            data-testid="privacy-reason"
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        </label>
        <div class="actions">
          <button class="button button--danger" type="submit" disabled={busy || !email} data-testid="privacy-erase">
            {t.privacyErase}
          </button>
        </div>
      </form>
      {feedback &&
        (feedback.kind === "error" ? (
          <p class="form-error" role="alert" data-testid="privacy-feedback">
            {feedback.text}
          </p>
        ) : (
          <p class="form-ok" role="status" data-testid="privacy-feedback">
            {feedback.text}
          </p>
        ))}
    </section>
  );
}
