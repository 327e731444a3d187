/** The Transfer button of an active chat: a small picker of colleagues over conv.transfer. */
import { useEffect, useRef, useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { errorText } from "./labels";
import { t } from "./strings";

/** A colleague who may take chats (GET /api/v1/agents). */
export interface Colleague {
  id: string;
  name: string;
  /** The availability they chose. */
  status: "online" | "away" | "offline";
  /** Taking chats right now: online with a console open (live presence). */
  available: boolean;
}

/** What the picker shows: online only when someone is there now; away as chosen. */
export function presenceOf(c: Colleague): Colleague["status"] {
  if (c.available) return "online";
  return c.status === "away" ? "away" : "offline";
}

const STATUS_LABEL = { online: t.statusOnline, away: t.statusAway, offline: t.statusOffline } as const;
const STATUS_ORDER = { online: 0, away: 1, offline: 2 } as const;

interface Props {
  /** Who holds the chat now: not offered as a target (a supervisor may pick themselves). */
  holder: string | null;
  /** Staff who may handle chats, the caller included. */
  loadColleagues(): Promise<Colleague[]>;
  /** Resolves on the server's ack; rejects with its error (a CommandError). */
  onTransfer(agent: Colleague): Promise<void>;
}

export function TransferButton({ holder, loadColleagues, onTransfer }: Props) {
  const [open, setOpen] = useState(false);
  const [colleagues, setColleagues] = useState<Colleague[] | null>(null);
  const [loadFailed, setLoadFailed] = useState(false);
  const [chosen, setChosen] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const select = useRef<HTMLSelectElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    let live = true;
    setColleagues(null);
    setLoadFailed(false);
    setError(null);
    loadColleagues().then(
      (all) => {
        if (!live) return;
        // Available colleagues first, then by name (the server sorts by name).
        const others = all
          .filter((c) => c.id !== holder)
          .sort((a, b) => STATUS_ORDER[presenceOf(a)] - STATUS_ORDER[presenceOf(b)]);
        setColleagues(others);
        setChosen(others[0]?.id ?? "");
      },
      () => {
        if (live) setLoadFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, [open]);

  // Focus moves into the picker once there is something to pick (else to Cancel).
  useEffect(() => {
    if (!open) return;
    if (colleagues && colleagues.length > 0) select.current?.focus();
    else if (colleagues || loadFailed) cancel.current?.focus();
  }, [open, colleagues, loadFailed]);

  const close = () => {
    setOpen(false);
    trigger.current?.focus();
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const target = colleagues?.find((c) => c.id === chosen);
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      await onTransfer(target);
      setOpen(false);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <span class="transfer">
      <button
        ref={trigger}
        class="button"
        type="button"
        data-testid="transfer"
        aria-haspopup="dialog"
        aria-expanded={open ? "true" : "false"}
        onClick={() => (open ? close() : setOpen(true))}
      >
        {t.transfer}
      </button>
      {open && (
        <div
          class="transfer-form"
          role="dialog"
          aria-label={t.transferTitle}
          data-testid="transfer-form"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              close();
            }
          }}
        >
          <form onSubmit={(e) => void submit(e)}>
            <p class="transfer-hint">{t.transferHint}</p>
            {loadFailed ? (
              <p class="banner banner--error" role="alert">
                {t.transferLoadFailed}
              </p>
            ) : colleagues === null ? (
              <p class="muted" role="status">
                {t.transferLoading}
              </p>
            ) : colleagues.length === 0 ? (
              <p class="muted" role="status" data-testid="transfer-nobody">
                {t.transferNobody}
              </p>
            ) : (
              <label>
                {t.transferTo}{" "}
                <select
                  ref={select}
                  data-testid="transfer-agent"
                  onChange={(e) => setChosen(e.currentTarget.value)}
                >
                  {colleagues.map((c) => (
                    <option key={c.id} value={c.id} data-status={presenceOf(c)} selected={c.id === chosen}>
                      {format(t.transferOption, { name: c.name, status: STATUS_LABEL[presenceOf(c)] })}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {(() => {
              // Allowed (they may be back in a minute), but the visitor would wait meanwhile.
              const target = colleagues?.find((c) => c.id === chosen);
              return target && presenceOf(target) !== "online" ? (
                <p class="banner" role="status" data-testid="transfer-not-online">
                  {format(t.transferNotOnline, { name: target.name })}
                </p>
              ) : null;
            })()}
            {error && (
              <p class="banner banner--error" role="alert" data-testid="transfer-error">
                {error}
              </p>
            )}
            <div class="transfer-actions">
              <button
                class="button button--primary"
                type="submit"
                data-testid="transfer-confirm"
                disabled={busy || !chosen || !colleagues?.length}
              >
                {t.transferConfirm}
              </button>
              <button ref={cancel} class="button" type="button" onClick={close}>
                {t.transferCancel}
              </button>
            </div>
          </form>
        </div>
      )}
    </span>
  );
}
