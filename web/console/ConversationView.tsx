/** One conversation: visitor header, the ordered event list, and the reply / note composer. */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { adminTables } from "../shared/i18n";
import { DEFAULT_MESSAGE_MAX_CHARS, measure } from "../shared/limit";
import type { SeqEvent, StateReason } from "../shared/protocol";
import { BanButton } from "./BanDialog";
import { cannedMatches, cannedQuery, insertCanned, type CannedItem } from "./canned";
import { AttachButton, FileItem } from "./FileShare";
import { SafeText } from "./SafeText";
import { TransferButton } from "./TransferDialog";
import type { Conversation, PageView, PendingItem } from "./state";
import { t } from "./strings";
import { errorText, visitorName } from "./labels";
import type { Actions } from "./Workspace";

const TYPING_THROTTLE_MS = 3000;
const TYPING_IDLE_MS = 4000;

interface Props {
  conv: Conversation;
  page: PageView | null;
  actions: Actions;
  /** Canned responses this agent may use ("/" + shortcut in the composer). */
  canned?: readonly CannedItem[];
  /** The signed-in agent's id (not offered as a transfer target). */
  me?: string | null;
  /** Files can be shared on this server (a malware scanner is set up). */
  files?: boolean;
  /** The signed-in user may transfer or close anyone's chat (chat.manage_all). */
  manageAll?: boolean;
  /** The longest message or note the server takes (/auth/me `message_max_chars`). */
  maxBody?: number;
}

const STATE_LABEL = { waiting: t.stateWaiting, active: t.stateActive, closed: t.stateClosed } as const;

export function ConversationView({
  conv,
  page,
  actions,
  canned = [],
  me = null,
  files = true,
  manageAll = false,
  maxBody = DEFAULT_MESSAGE_MAX_CHARS,
}: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const listRef = useRef<HTMLDivElement>(null);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const titleRef = useRef<HTMLHeadingElement>(null);
  const nearBottom = useRef(true);
  // Accept, Close and Transfer remove the button pressed: the keyboard focus would fall to
  // the page. It goes where the work continues instead, once the chat's new state shows:
  // the composer after Accept, the chat's title after Close or Transfer.
  const focusNext = useRef<"composer" | "title" | null>(null);
  const replying = conv.state === "active" && conv.mine;
  useEffect(() => {
    const next = focusNext.current;
    if (next === null || (next === "composer") !== replying) return;
    focusNext.current = null;
    (next === "composer" ? composerRef.current : titleRef.current)?.focus();
  }, [conv.state, conv.mine, conv.agent?.id]);

  useEffect(() => {
    if (!conv.loaded) actions.load(conv.id);
    // Load once per conversation shown (the view is keyed by id); a failure offers a retry.
  }, [conv.id]);

  // Keep the newest message in view unless the agent has scrolled up to read.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (list && nearBottom.current) list.scrollTop = list.scrollHeight;
  }, [conv.events.length, conv.pending.length, conv.visitorTyping]);

  const onScroll = () => {
    const list = listRef.current;
    if (list) nearBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  };

  const run = async (fn: () => Promise<void>, then: "composer" | "title" | null = null) => {
    setBusy(true);
    setError(null);
    focusNext.current = then;
    try {
      await fn();
    } catch (err) {
      focusNext.current = null;
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const visitor = conv.visitor;
  // Only the holder of an active chat replies to it (below); the holder, or whoever may
  // manage all chats (a supervisor), transfers or closes it. The server checks both.
  const managed = conv.state === "active" && (conv.mine || manageAll);
  const holder = conv.agent?.name || t.agent;
  let lastState: string | null = null;
  return (
    <section class="conversation" aria-label={visitorName(conv)}>
      <header class="conv-header">
        <div class="conv-who">
          <h1 class="conv-title" ref={titleRef} tabIndex={-1}>
            {visitorName(conv)}{" "}
            {visitor &&
              (visitor.verified ? (
                <span class="badge badge--verified">{"\u2713 "}{t.verified}</span>
              ) : (
                <span class="badge">{t.unverified}</span>
              ))}
          </h1>
          <p class="conv-sub">
            {visitor?.email && <span class="conv-email">{visitor.email}</span>}
            <span class="conv-page" data-testid="conv-page">
              {t.currentPage}:{" "}
              {page ? (
                <>
                  {page.title && <span class="page-title">{page.title} </span>}
                  <SafeText class="page-url" text={page.url} />
                  {page.ts && (
                    <time class="page-time" dateTime={page.ts}>
                      {timeOf(page.ts)}
                    </time>
                  )}
                </>
              ) : (
                <span class="muted">{t.noPage}</span>
              )}
            </span>
          </p>
        </div>
        {visitor && <BanButton key={visitor.id} visitor={visitor.id} onBan={actions.ban} />}
        <span class={`state-tag state-tag--${conv.state}`} data-testid="state" data-state={conv.state}>
          {STATE_LABEL[conv.state]}
        </span>
        {conv.state === "waiting" && (
          <button
            class="button button--primary"
            type="button"
            data-testid="accept"
            disabled={busy}
            onClick={() => void run(() => actions.accept(conv.id), "composer")}
          >
            {t.accept}
          </button>
        )}
        {managed && (
          <TransferButton
            holder={conv.mine ? me : conv.agent?.id ?? null}
            loadColleagues={actions.colleagues}
            onTransfer={async (agent) => {
              focusNext.current = "title";
              try {
                await actions.transfer(conv.id, agent);
              } catch (err) {
                focusNext.current = null; // the dialog says why; the chat stays as it was
                throw err;
              }
            }}
          />
        )}
        {managed && (
          <button
            class="button button--danger"
            type="button"
            data-testid="close"
            disabled={busy}
            onClick={() => void run(() => actions.close(conv.id), "title")}
          >
            {t.close}
          </button>
        )}
      </header>
      {error && (
        <p class="banner banner--error" role="alert">
          {error}
        </p>
      )}
      {conv.state === "active" && !conv.mine && (
        <p class="banner" role="status" data-testid="handed-over">
          {format(conv.transferred ? t.transferredNotice : t.takenNotice, { name: holder })}
        </p>
      )}
      {conv.loadError && (
        <p class="banner banner--error" role="alert">
          {t.loadFailed}{" "}
          <button class="link-button" type="button" onClick={() => actions.load(conv.id)}>
            {t.retry}
          </button>
        </p>
      )}
      <div class="messages" ref={listRef} onScroll={onScroll}>
        <div class="message-list" data-testid="messages" role="log" aria-live="polite" aria-relevant="additions">
          {conv.events.map((ev) => {
            // Active after active: the chat changed hands.
            const transfer = ev.t === "conv.state" && ev.state === "active" && lastState === "active";
            if (ev.t === "conv.state") lastState = ev.state;
            return <EventItem key={ev.seq} ev={ev} transfer={transfer} />;
          })}
          {conv.pending.map((p) => (
            <PendingBubble key={p.localId} item={p} />
          ))}
        </div>
        {conv.visitorTyping && (
          <p class="typing" data-testid="typing" aria-live="polite">
            {conv.visitorTypingName ? format(t.typing, { name: conv.visitorTypingName }) : t.visitorTyping}
          </p>
        )}
      </div>
      <Composer
        conv={conv}
        actions={actions}
        composerRef={composerRef}
        canned={canned}
        files={files}
        maxBody={maxBody}
      />
    </section>
  );
}

function closedText(reason: StateReason | undefined): string {
  if (reason === "visitor") return t.eventClosedVisitor;
  if (reason === "idle") return t.eventClosedIdle;
  if (reason === "banned") return t.eventClosedBanned;
  return t.eventClosed;
}

function EventItem({ ev, transfer }: { ev: SeqEvent; transfer: boolean }) {
  switch (ev.t) {
    case "msg":
    case "note": {
      const m = ev.t === "msg" ? ev.message : ev.note;
      const kind = m.author.kind;
      const name = m.author.name || (kind === "visitor" ? t.anonymousVisitor : kind === "agent" ? t.agent : t.system);
      return (
        <div
          class={`msg msg--${kind} msg--${ev.t}`}
          data-testid="msg"
          data-seq={ev.seq}
          data-author={kind}
          data-kind={ev.t}
        >
          <div class="meta">
            <span class="author">{name}</span>
            {ev.t === "note" && <span class="note-label">{t.note}</span>}
            <time dateTime={m.ts}>{timeOf(m.ts)}</time>
          </div>
          <SafeText text={m.body} />
        </div>
      );
    }
    case "conv.state": {
      const text =
        ev.state === "waiting"
          ? ev.reason === "requeued"
            ? t.eventRequeued
            : t.eventWaiting
          : ev.state === "active"
            ? format(transfer ? t.eventTransferred : t.eventActive, { name: ev.agent?.name ?? t.agent })
            : closedText(ev.reason);
      return (
        <div class="event" data-testid="event" data-seq={ev.seq} data-reason={ev.reason}>
          {text}
        </div>
      );
    }
    case "rating":
      return (
        <div class={`event event--rating-${ev.score}`} data-testid="event" data-seq={ev.seq}>
          {ev.score === "good" ? t.eventRatedGood : t.eventRatedBad}
          {ev.comment ? ` — ${ev.comment}` : ""}
        </div>
      );
    case "file":
      return <FileItem ev={ev} timeOf={timeOf} />;
  }
}

function PendingBubble({ item }: { item: PendingItem }) {
  return (
    <div
      class={`msg msg--agent msg--${item.kind} msg--pending${item.error ? " msg--failed" : ""}`}
      data-testid="msg-pending"
      data-kind={item.kind}
    >
      <div class="meta">
        <span class="author">{t.you}</span>
        {item.kind === "note" && <span class="note-label">{t.note}</span>}
        <span>{item.error ? format(t.notSent, { reason: item.error }) : t.sending}</span>
      </div>
      <SafeText text={item.body} />
    </div>
  );
}

function timeOf(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

interface ComposerProps {
  conv: Conversation;
  actions: Actions;
  composerRef: { current: HTMLTextAreaElement | null };
  canned: readonly CannedItem[];
  files: boolean;
  maxBody: number;
}

function Composer({ conv, actions, composerRef, canned, files, maxBody }: ComposerProps) {
  const [highlight, setHighlight] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const typingOn = useRef(false);
  const typingSentAt = useRef(0);
  const idle = useRef<ReturnType<typeof setTimeout> | null>(null);
  const id = conv.id;
  const note = conv.noteMode;
  // The server refuses replies to a waiting chat (accept first), to a closed one and to one
  // someone else holds (say, after a transfer); notes are allowed in every state.
  const replyBlocked = !note && (conv.state !== "active" || !conv.mine);
  // Never cut (a maxlength dropped the rest of a paste without a word): near the limit a
  // counter, over it an error naming the limit, and no sending.
  const length = measure(conv.draft, maxBody);
  const limitId = `${id}-limit`;

  const stopTyping = () => {
    if (idle.current !== null) clearTimeout(idle.current);
    idle.current = null;
    if (typingOn.current) {
      typingOn.current = false;
      actions.typing(id, false);
    }
  };

  // Leaving the conversation (or unmounting) ends the typing indicator.
  useEffect(() => stopTyping, [id]);

  const query = conv.draft !== dismissed ? cannedQuery(conv.draft) : null;
  const suggestions = query === null ? [] : cannedMatches(canned, query);
  const hi = Math.min(highlight, Math.max(suggestions.length - 1, 0));

  const insert = (item: CannedItem) => {
    // Into the composer only: the agent reads, edits and sends it themselves.
    actions.setDraft(id, { text: insertCanned(conv.draft, item) });
    setHighlight(0);
    composerRef.current?.focus();
  };

  const onInput = (value: string) => {
    setHighlight(0);
    actions.setDraft(id, { text: value });
    // Internal notes are nobody's business on the visitor's side: no typing indicator for them.
    if (note || replyBlocked) return;
    if (!value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (!typingOn.current || now - typingSentAt.current >= TYPING_THROTTLE_MS) {
      typingOn.current = true;
      typingSentAt.current = now;
      actions.typing(id, true);
    }
    if (idle.current !== null) clearTimeout(idle.current);
    idle.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  };

  const send = () => {
    const body = conv.draft.trim();
    if (!body || length.over || replyBlocked) return;
    stopTyping();
    // A note is one note: the composer goes back to replying, so the next message reaches
    // the visitor instead of silently becoming another note.
    actions.setDraft(id, note ? { text: "", noteMode: false } : { text: "" });
    void actions.send(id, body, note ? "note" : "msg");
    composerRef.current?.focus();
  };

  const toggleNote = () => {
    if (!note) stopTyping();
    actions.setDraft(id, { noteMode: !note });
    composerRef.current?.focus();
  };

  return (
    <form
      class={note ? "composer composer--note" : "composer"}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <div class="composer-tabs">
        <button
          type="button"
          class={note ? "composer-tab composer-tab--note composer-tab--on" : "composer-tab composer-tab--note"}
          data-testid="note-toggle"
          aria-pressed={note ? "true" : "false"}
          onClick={toggleNote}
        >
          {t.note}
        </button>
        {note && <span class="note-hint">{t.noteHint}</span>}
        {replyBlocked && (
          <span class="reply-hint" data-testid="reply-hint">
            {conv.state === "waiting"
              ? t.acceptToReply
              : conv.state === "active"
                ? format(t.notYoursNoReply, { name: conv.agent?.name || t.agent })
                : t.closedNoReply}
          </span>
        )}
      </div>
      {suggestions.length > 0 && (
        <ul class="canned-suggestions" role="listbox" aria-label={adminTables.en.cannedSuggestions} data-testid="canned-suggestions">
          {suggestions.map((c, i) => (
            <li
              key={c.id}
              role="option"
              aria-selected={i === hi ? "true" : "false"}
              class={i === hi ? "canned-option canned-option--on" : "canned-option"}
              data-testid="canned-option"
              data-shortcut={c.shortcut}
              // Keep the focus in the composer while picking with the mouse.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => insert(c)}
            >
              <code>/{c.shortcut}</code> <span class="canned-title">{c.title}</span>
            </li>
          ))}
          <li class="canned-hint muted" aria-hidden="true">
            {adminTables.en.cannedInsertHint}
          </li>
        </ul>
      )}
      <div class="composer-row">
        <textarea
          ref={composerRef}
          data-testid="composer"
          class="composer-input"
          rows={3}
          disabled={replyBlocked}
          aria-invalid={length.over ? "true" : undefined}
          aria-describedby={limitId}
          aria-label={note ? t.noteHint : t.reply}
          aria-autocomplete="list"
          aria-expanded={suggestions.length > 0 ? "true" : "false"}
          placeholder={note ? t.notePlaceholder : replyBlocked ? t.replyBlockedPlaceholder : t.replyPlaceholder}
          value={conv.draft}
          onInput={(e) => onInput(e.currentTarget.value)}
          onBlur={stopTyping}
          onKeyDown={(e) => {
            const chosen = suggestions[hi];
            if (chosen && !e.isComposing) {
              if (e.key === "ArrowDown" || e.key === "ArrowUp") {
                e.preventDefault();
                const step = e.key === "ArrowDown" ? 1 : -1;
                setHighlight((hi + step + suggestions.length) % suggestions.length);
                return;
              }
              if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
                e.preventDefault();
                insert(chosen);
                return;
              }
              if (e.key === "Escape") {
                e.preventDefault();
                setDismissed(conv.draft);
                return;
              }
            }
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        {files && <AttachButton disabled={replyBlocked || note} upload={(file) => actions.upload(id, file)} />}
        <button
          class="button button--primary"
          type="submit"
          data-testid="send"
          disabled={replyBlocked || length.over}
        >
          {note ? t.addNote : t.send}
        </button>
      </div>
      <p
        id={limitId}
        class={length.over ? "composer-limit composer-limit--over" : "composer-limit"}
        data-testid="counter"
        aria-live="polite"
        hidden={!length.near}
      >
        {length.over
          ? format(t.tooLong, { max: maxBody.toLocaleString("en"), over: (-length.left).toLocaleString("en") })
          : format(t.charsLeft, { count: length.left })}
      </p>
    </form>
  );
}
