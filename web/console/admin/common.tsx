/** Small pieces shared by the admin panels: loading state, error text, a status line. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
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
  const line = useRef<HTMLParagraphElement>(null);
  // A panel's one status line sits above its table, and the form that set it may be far
  // below (QA: "a user with this e-mail exists" was drawn off-screen, and nothing seemed
  // to happen): each new status is brought into view, scrolling only if it is not.
  useEffect(() => {
    if (status) line.current?.scrollIntoView?.({ block: "nearest" });
  }, [status]);
  if (!status) return null;
  return status.ok ? (
    <p class="admin-ok" role="status" data-testid="admin-ok" ref={line}>
      {status.text}
    </p>
  ) : (
    <p class="banner banner--error" role="alert" data-testid="admin-error" ref={line}>
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

interface ConfirmProps {
  label: string;
  /** The question asked in place of the button, naming what will happen. */
  question: string;
  onConfirm: () => void;
  testid: string;
  danger?: boolean;
  disabled?: boolean;
}

/**
 * A button for an action that is hard to undo. The first click asks in place (no browser
 * dialog), with the focus on "Cancel"; only "Yes" acts. Escape backs out.
 */
export function ConfirmButton({ label, question, onConfirm, testid, danger = false, disabled = false }: ConfirmProps) {
  const [asking, setAsking] = useState(false);
  const cancel = useRef<HTMLButtonElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const backedOut = useRef(false);
  useEffect(() => {
    if (asking) cancel.current?.focus();
    else if (backedOut.current) {
      backedOut.current = false;
      trigger.current?.focus();
    }
  }, [asking]);
  const backOut = () => {
    backedOut.current = true;
    setAsking(false);
  };
  if (!asking) {
    return (
      <button
        ref={trigger}
        class={`button button--small${danger ? " button--danger" : ""}`}
        type="button"
        data-testid={testid}
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span
      class="confirm"
      role="group"
      aria-label={question}
      data-testid={`${testid}-ask`}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          backOut();
        }
      }}
    >
      <span class="confirm-question">{question}</span>{" "}
      <button
        class={`button button--small${danger ? " button--danger" : " button--primary"}`}
        type="button"
        data-testid={`${testid}-yes`}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {a.confirmYes}
      </button>{" "}
      <button ref={cancel} class="button button--small" type="button" data-testid={`${testid}-no`} onClick={backOut}>
        {a.cancel}
      </button>
    </span>
  );
}
