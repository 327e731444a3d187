/**
 * "On the site now": visitors seen browsing (visitor.page events), most recent first, each with
 * a button to invite them to chat. Page titles and URLs come from the host page: text only.
 */
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { errorText } from "./labels";
import type { SiteVisitor } from "./state";
import { t } from "./strings";

/** The server's limit for an invitation's text. */
export const MAX_INVITE = 500;

interface Props {
  entries: readonly SiteVisitor[];
  /** A display name for a visitor id, when one of the listed chats knows it. */
  nameOf: (visitor: string) => string | null;
  onInvite: (visitor: string, body: string) => Promise<void>;
}

export function SiteVisitors({ entries, nameOf, onInvite }: Props) {
  return (
    <section class="chat-list site-list" data-testid="site-visitors">
      <h2>
        {t.onSite} <span class="count">{entries.length}</span>
      </h2>
      {entries.length === 0 ? (
        <p class="list-empty">{t.onSiteEmpty}</p>
      ) : (
        <ul>
          {entries.map((e) => (
            <SiteVisitorItem key={e.visitor} entry={e} name={nameOf(e.visitor)} onInvite={onInvite} />
          ))}
        </ul>
      )}
    </section>
  );
}

interface ItemProps {
  entry: SiteVisitor;
  name: string | null;
  onInvite: (visitor: string, body: string) => Promise<void>;
}

type Result = { ok: boolean; text: string };

function SiteVisitorItem({ entry, name, onInvite }: ItemProps) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState<string>(t.inviteDefault);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const inputId = useId();
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const who = name || t.anonymousVisitor;

  useEffect(() => {
    if (open) inputRef.current?.focus();
  }, [open]);

  const send = async () => {
    const body = text.trim();
    if (!body || body.length > MAX_INVITE || busy) return;
    setBusy(true);
    setResult(null);
    try {
      await onInvite(entry.visitor, body);
      setResult({ ok: true, text: t.inviteSent });
      setOpen(false);
      setText(t.inviteDefault);
    } catch (err) {
      setResult({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <li class="site-visitor" data-testid="site-visitor" data-visitor={entry.visitor}>
      <div class="site-visitor-top">
        <span class="site-visitor-name">{who}</span>
        <time class="site-visitor-time" dateTime={entry.ts}>
          {timeOf(entry.ts)}
        </time>
      </div>
      <span class="site-visitor-title" data-testid="site-visitor-title">
        {entry.title || t.untitledPage}
      </span>
      <span class="site-visitor-url" data-testid="site-visitor-url" title={entry.url}>
        {entry.url}
      </span>
      {open ? (
        <form
          class="invite-form"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <label class="visually-hidden" for={inputId}>
            {t.inviteMessage}
          </label>
          <textarea
            id={inputId}
            class="invite-input"
            data-testid="invite-input"
            rows={2}
            maxLength={MAX_INVITE}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                void send();
              } else if (e.key === "Escape") {
                setOpen(false);
              }
            }}
            ref={inputRef}
          />
          <div class="invite-actions">
            <button
              class="button button--primary button--small"
              type="submit"
              data-testid="invite-send"
              disabled={busy || !text.trim()}
            >
              {t.inviteSend}
            </button>
            <button
              class="button button--ghost button--small"
              type="button"
              data-testid="invite-cancel"
              onClick={() => setOpen(false)}
            >
              {t.inviteCancel}
            </button>
          </div>
        </form>
      ) : (
        <button
          class="button button--small site-visitor-invite"
          type="button"
          data-testid="invite"
          aria-label={format(t.inviteLabel, { name: who })}
          onClick={() => {
            setResult(null);
            setOpen(true);
          }}
        >
          {t.invite}
        </button>
      )}
      {result && (
        <p
          class={result.ok ? "invite-result" : "invite-result invite-result--error"}
          data-testid="invite-result"
          role={result.ok ? "status" : "alert"}
        >
          {result.text}
        </p>
      )}
    </li>
  );
}

function timeOf(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
