/** The Ban button of a conversation: a small form (duration, reason) over the visitor.ban command. */
import { useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { errorText } from "./labels";
import { t } from "./strings";

const DURATIONS = [
  { s: 3600, label: t.banHour },
  { s: 86_400, label: t.banDay },
  { s: 7 * 86_400, label: t.banWeek },
  { s: 30 * 86_400, label: t.banMonth },
] as const;
const MAX_REASON = 500;

interface Props {
  visitor: string;
  /** Resolves with the ban's expiry (ISO 8601) on the server's ack. */
  onBan(visitor: string, durationS: number, reason: string): Promise<string>;
}

export function BanButton({ visitor, onBan }: Props) {
  const [open, setOpen] = useState(false);
  const [duration, setDuration] = useState<number>(DURATIONS[1].s);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (done) {
    return (
      <span class="ban-done" role="status" data-testid="ban-done">
        {format(t.banDone, { until: new Date(done).toLocaleString() })}
      </span>
    );
  }
  if (!open) {
    return (
      <button class="button button--danger-quiet" type="button" data-testid="ban" onClick={() => setOpen(true)}>
        {t.ban}
      </button>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    const why = reason.trim();
    if (!why) return;
    setBusy(true);
    setError(null);
    try {
      setDone(await onBan(visitor, duration, why));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="ban-form" data-testid="ban-form" aria-label={t.banTitle} onSubmit={(e) => void submit(e)}>
      <p class="ban-hint">{t.banHint}</p>
      <label>
        {t.banDuration}{" "}
        <select
          data-testid="ban-duration"
          value={String(duration)}
          onChange={(e) => setDuration(Number(e.currentTarget.value))}
        >
          {DURATIONS.map((d) => (
            <option key={d.s} value={String(d.s)}>
              {d.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.banReason}
        <input
          data-testid="ban-reason"
          required
          maxLength={MAX_REASON}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="banner banner--error" role="alert">
          {error}
        </p>
      )}
      <div class="ban-actions">
        <button class="button button--danger" type="submit" data-testid="ban-confirm" disabled={busy || !reason.trim()}>
          {t.banConfirm}
        </button>
        <button class="button" type="button" onClick={() => setOpen(false)}>
          {t.banCancel}
        </button>
      </div>
    </form>
  );
}
