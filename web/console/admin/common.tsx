/** Small pieces shared by the admin panels: loading state, error text, a status line. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../../shared/http";
import { adminTables } from "../../shared/i18n";
import { asSentence } from "../../shared/text";
import { t as ct } from "../strings";

export const a = adminTables.en;

/** The server's message (written for people, with a stable code) or a generic one. */
export function errorOf(err: unknown): string {
  return err instanceof ApiError && err.message && err.status !== 0 ? asSentence(err.message) : ct.errGeneric;
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(null)),
      (err: unknown) => live && setError(errorOf(err)),
    );
    return () => void (live = false);
    // `load` is a new closure each render; reloading is explicit.
  }, [tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

/** Runs an action, then shows its error or a confirmation in one status line. */
export function useAction(): {
  busy: boolean;
  status: { ok: boolean; text: string } | null;
  run: (fn: () => Promise<unknown>, done?: string) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async (fn: () => Promise<unknown>, done?: string): Promise<boolean> => {
    setBusy(true);
    setStatus(null);
    try {
      await fn();
      if (done) setStatus({ ok: true, text: done });
      return true;
    } catch (err) {
      setStatus({ ok: false, text: errorOf(err) });
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, status, run };
}

export function Status({ status }: { status: { ok: boolean; text: string } | null }) {
  if (!status) return null;
  return status.ok ? (
    <p class="admin-ok" role="status" data-testid="admin-ok">
      {status.text}
    </p>
  ) : (
    <p class="banner banner--error" role="alert" data-testid="admin-error">
      {status.text}
    </p>
  );
}

export function LoadError({ error }: { error: string | null }) {
  return error ? (
    <p class="banner banner--error" role="alert">
      {error}
    </p>
  ) : null;
}
