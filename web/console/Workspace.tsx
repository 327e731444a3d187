/** The signed-in console: top bar, chat lists and the selected conversation, over /ws/agent. */
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import type { AgentStatus, ServerFrame, StaffUser } from "../shared/protocol";
import { SocketClient } from "../shared/socket";
import { AccountView } from "./AccountView";
import { AdminArea } from "./admin/AdminArea";
import { sectionsFor } from "./admin/adminApi";
import { useCannedList } from "./canned";
import { chime, rememberSound, soundWanted } from "./chime";
import { notify, notifyState, toggleNotify } from "./notify";
import { adminTables } from "../shared/i18n";
import { DEFAULT_MESSAGE_MAX_CHARS, messageLimit } from "../shared/limit";
import type { ConsoleApi } from "./api";
import { ConversationView } from "./ConversationView";
import { mayManagePrivacy, PrivacyPanel } from "./PrivacyPanel";
import { errorText, visitorName } from "./labels";
import { SiteVisitors } from "./SiteVisitors";
import type { Colleague } from "./TransferDialog";
import {
  attentionCount,
  attentionNews,
  attentionOf,
  initialState,
  myList,
  reducer,
  resumeMap,
  teamList,
  waitingList,
  type Attention,
  type Conversation,
} from "./state";
import { t } from "./strings";

/** Hide a visitor's typing indicator if its "off" never arrives. */
const TYPING_STALE_MS = 10_000;
/** How often "On the site now" drops visitors not seen for a while. */
const SITE_PRUNE_MS = 30_000;

interface Props {
  api: ConsoleApi;
  user: StaffUser;
  onLoggedOut: (expired: boolean) => void;
}

export interface Actions {
  accept(conversation: string): Promise<void>;
  close(conversation: string): Promise<void>;
  /** Hands an active chat to a colleague; rejects with the server's error (a CommandError). */
  transfer(conversation: string, agent: Colleague): Promise<void>;
  /** Staff who may take chats (the signed-in agent included), for the transfer picker. */
  colleagues(): Promise<Colleague[]>;
  send(conversation: string, body: string, kind: "msg" | "note"): Promise<void>;
  typing(conversation: string, on: boolean): void;
  /** Resolves on the ack; rejects with the server's error (a CommandError). */
  invite(visitor: string, body: string): Promise<void>;
  /** Bans a visitor; resolves with the ban's expiry (ISO 8601). */
  ban(visitor: string, durationS: number, reason: string): Promise<string>;
  /** Uploads a file; resolves once stored (the file event arrives on the socket). */
  upload(conversation: string, file: File): Promise<void>;
  load(conversation: string): void;
  setDraft(conversation: string, patch: { text?: string; noteMode?: boolean }): void;
}

export function Workspace({ api, user, onLoggedOut }: Props) {
  const [state, dispatch] = useReducer(reducer, initialState);
  const stateRef = useRef(state);
  stateRef.current = state;
  const socketRef = useRef<SocketClient | null>(null);
  const typingTimers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const loading = useRef(new Set<string>());
  const loggedOut = useRef(onLoggedOut);
  loggedOut.current = onLoggedOut;
  const [view, setView] = useState<"inbox" | "account" | "admin">("inbox");
  // What the admin link and the composer's canned responses need; the server checks anyway.
  const [perms, setPerms] = useState<{ all: string[]; mine: string[] }>({ all: [], mine: [] });
  // Until the permissions are known (or if they cannot be read) the console assumes chats:
  // the server refuses what the role may not do anyway.
  const [permsKnown, setPermsKnown] = useState<"loading" | "known" | "unknown">("loading");
  // Read again when the socket says the list changed (canned.changed) or the admin area
  // changed it; stable for the console's one ConsoleApi.
  const { items: canned, reload: loadCanned } = useCannedList(api);
  // Each canned.changed frame, counted: the admin area's Canned tab reloads on it too.
  const [cannedVersion, setCannedVersion] = useState(0);
  // Whether files can be shared here (a malware scanner is set up): else no attach button.
  const [filesAvailable, setFilesAvailable] = useState(true);
  // The server's longest message (BASTION_MESSAGE_MAX_CHARS); its default until /me says.
  const [maxBody, setMaxBody] = useState(DEFAULT_MESSAGE_MAX_CHARS);
  useEffect(() => {
    api.call<{ all: string[]; mine: string[] }>("/api/v1/permissions").then(
      (p) => {
        setPerms(p);
        setPermsKnown("known");
      },
      () => setPermsKnown("unknown"),
    );
    api.me().then(
      (res) => {
        setFilesAvailable(res.files_available !== false);
        setMaxBody(messageLimit(res.message_max_chars));
      },
      () => undefined,
    );
  }, [api]);
  const canAdmin = sectionsFor(perms.mine).length > 0;
  // A role without chat.handle (an editor of canned responses, an auditor) has no chats: no
  // socket, no status, no queue — the console says so and offers what the role can do.
  const handlesChats = permsKnown !== "known" || perms.mine.includes("chat.handle");
  useEffect(() => {
    if (!handlesChats && canAdmin) setView("admin");
  }, [handlesChats, canAdmin]);
  const [totpEnabled, setTotpEnabled] = useState(user.totp_enabled === true);
  const [totpUnreadable, setTotpUnreadable] = useState(user.totp_unreadable === true);
  const accountButton = useRef<HTMLButtonElement>(null);
  const sidebar = useRef<HTMLElement>(null);
  const chatMain = useRef<HTMLElement>(null);

  const onFrame = useCallback((frame: ServerFrame) => {
    switch (frame.t) {
      case "msg":
      case "note":
      case "conv.state":
      case "rating":
      case "file":
        dispatch({
          type: "events",
          conversation: frame.conversation,
          events: [frame],
          live: true,
          away: document.hidden,
        });
        return;
      case "typing": {
        if (frame.author?.kind !== "visitor") return;
        const timers = typingTimers.current;
        const old = timers.get(frame.conversation);
        if (old !== undefined) clearTimeout(old);
        timers.delete(frame.conversation);
        dispatch({ type: "typing", conversation: frame.conversation, on: frame.on, name: frame.author.name });
        if (frame.on) {
          timers.set(
            frame.conversation,
            setTimeout(() => dispatch({ type: "typing", conversation: frame.conversation, on: false, name: null }), TYPING_STALE_MS),
          );
        }
        return;
      }
      case "visitor.page":
        dispatch({ type: "page", event: frame, now: Date.now() });
        return;
      case "visitor.erased":
        if (typeof frame.visitor === "string") dispatch({ type: "erased", visitor: frame.visitor });
        return;
      case "canned.changed":
        loadCanned();
        setCannedVersion((n) => n + 1);
        return;
      default:
        return;
    }
  }, [loadCanned]);

  useEffect(() => {
    if (permsKnown === "loading" || !handlesChats) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new SocketClient({
      url: `${scheme}//${location.host}/ws/agent`,
      hello: () => ({ t: "hello", resume: resumeMap(stateRef.current) }),
      onReady: (ack) => {
        if (!ack.agent) return;
        // A chat we held that the ack no longer lists closed or changed hands while we were
        // away; the server will not replay it, so ask what happened (the reducer keeps it).
        const listed = new Set(ack.conversations.map((c) => c.id));
        const before = stateRef.current;
        const gone = Object.values(before.conversations).filter(
          (c) => !listed.has(c.id) && c.mine && c.state === "active" && (c.loaded || c.id === before.selected),
        );
        dispatch({ type: "ready", agent: ack.agent, conversations: ack.conversations });
        for (const c of gone) void fetchAfter(c.id);
      },
      onFrame,
      onStatus: (status) => dispatch({ type: "connection", status }),
      onAuthError: () => loggedOut.current(true),
    });
    socketRef.current = socket;
    socket.start();
    const online = () => {
      if (!socket.isReady && socket.status !== "stopped") socket.reconnect();
    };
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      socket.stop();
      socketRef.current = null;
      for (const timer of typingTimers.current.values()) clearTimeout(timer);
    };
  }, [onFrame, permsKnown, handlesChats]);

  const waiting = waitingList(state);
  const mine = myList(state);
  // Supervisors (chat.view_all) see colleagues' active chats, and may transfer or close them
  // (chat.manage_all); the server sends those chats only to them.
  const viewAll = perms.mine.includes("chat.view_all");
  const team = viewAll ? teamList(state) : [];

  const attention = attentionCount(state);
  useEffect(() => {
    document.title = attention > 0 ? `(${attention}) ${t.appName}` : t.appName;
  }, [attention]);

  // A tone when something new needs the agent (not for what was there at sign-in).
  const [sound, setSound] = useState(soundWanted);
  const heard = useRef<number | null>(null);
  useEffect(() => {
    if (state.me === null) return;
    if (heard.current !== null && attention > heard.current && sound) chime();
    heard.current = attention;
  }, [attention, state.me, sound]);

  // A desktop notification for what is new while the tab is in the background (opt-in).
  const [alerts, setAlerts] = useState(notifyState);
  const seen = useRef<Attention | null>(null);
  const now = attentionOf(state);
  const nowKey = `${now.waiting.join()}|${now.unread.join()}`;
  useEffect(() => {
    if (state.me === null) return;
    const news = seen.current && attentionNews(seen.current, now);
    seen.current = now;
    if (news && document.hidden && alerts === "on") {
      notify(news, (id) => dispatch({ type: "select", conversation: id }));
    }
  }, [nowKey, state.me, alerts]);

  // Back on the tab: the open chat's messages are seen now.
  const selectedId = state.selected;
  useEffect(() => {
    const onVisible = () => {
      if (!document.hidden && selectedId) dispatch({ type: "select", conversation: selectedId });
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [selectedId]);

  useEffect(() => () => void (document.title = t.appName), []);

  useEffect(() => {
    const timer = setInterval(() => dispatch({ type: "prune", now: Date.now() }), SITE_PRUNE_MS);
    return () => clearInterval(timer);
  }, []);

  const actions = useMemo<Actions>(
    () => ({
      async upload(conversation, file) {
        await api.upload(conversation, file);
      },
      async accept(conversation) {
        const socket = socketRef.current;
        if (!socket) return;
        const ack = await socket.send({ t: "conv.accept", conversation });
        dispatch({ type: "accepted", conversation, seq: ack.seq });
      },
      async close(conversation) {
        await socketRef.current?.send({ t: "conv.close", conversation });
      },
      async transfer(conversation, agent) {
        const socket = socketRef.current;
        if (!socket) throw new Error("not connected");
        await socket.send({ t: "conv.transfer", conversation, agent: agent.id });
        dispatch({ type: "transferred", conversation, agent: { id: agent.id, name: agent.name } });
      },
      colleagues() {
        return api.call<Colleague[]>("/api/v1/agents");
      },
      async send(conversation, body, kind) {
        const socket = socketRef.current;
        if (!socket) return;
        const localId = crypto.randomUUID();
        dispatch({ type: "pending", conversation, item: { localId, kind, body, seq: null, error: null } });
        try {
          const ack =
            kind === "note"
              ? await socket.send({ t: "note.send", conversation, body })
              : await socket.send({ t: "msg.send", conversation, body });
          dispatch({ type: "pendingAck", conversation, localId, seq: ack.seq, body: ack.redacted ? ack.body : undefined });
          // If the live event is slow to come (or was missed), fetch it.
          setTimeout(() => {
            const conv = stateRef.current.conversations[conversation];
            if (conv && !conv.events.some((e) => e.seq === ack.seq)) void fetchAfter(conversation);
          }, 1500);
        } catch (err) {
          dispatch({ type: "pendingFailed", conversation, localId, error: errorText(err) });
        }
      },
      typing(conversation, on) {
        socketRef.current?.notify({ t: "typing", conversation, on });
      },
      async invite(visitor, body) {
        const socket = socketRef.current;
        if (!socket) throw new Error("not connected");
        await socket.send({ t: "invite", visitor, body });
      },
      async ban(visitor, durationS, reason) {
        const socket = socketRef.current;
        if (!socket) throw new Error("not connected");
        const ack = await socket.send({ t: "visitor.ban", visitor, duration_s: durationS, reason });
        return ack.expires_at;
      },
      load(conversation) {
        void fetchAfter(conversation, true);
      },
      setDraft(conversation, patch) {
        dispatch({ type: "draft", conversation, ...patch });
      },
    }),
    // Built once: everything it reads goes through refs or the stable dispatch.
    [],
  );

  async function fetchAfter(conversation: string, full = false): Promise<void> {
    if (loading.current.has(conversation)) return;
    loading.current.add(conversation);
    try {
      const conv = stateRef.current.conversations[conversation];
      const after = full || !conv ? 0 : (conv.events[conv.events.length - 1]?.seq ?? 0);
      const events = await api.events(conversation, after);
      dispatch({ type: "loaded", conversation, events });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) loggedOut.current(true);
      else dispatch({ type: "loadFailed", conversation });
    } finally {
      loading.current.delete(conversation);
    }
  }

  const setStatus = async (status: AgentStatus) => {
    const previous = state.status;
    dispatch({ type: "status", status });
    try {
      const ack = await socketRef.current?.send({ t: "status.set", status });
      if (ack) dispatch({ type: "status", status: ack.status });
    } catch {
      dispatch({ type: "status", status: previous });
    }
  };

  const logout = async () => {
    socketRef.current?.stop();
    try {
      await api.logout();
    } catch {
      // The cookie may already be gone; the local session ends either way.
    }
    loggedOut.current(false);
  };

  const select = (id: string) => dispatch({ type: "select", conversation: id });
  // Narrow screens show either the chat list or the open chat (console.css); this control,
  // hidden on wide screens, goes back to the list and puts the focus on the chat just left.
  const backToList = () => {
    const left = state.selected;
    dispatch({ type: "select", conversation: null });
    requestAnimationFrame(() => {
      const items = sidebar.current?.querySelectorAll<HTMLElement>(".chat-item") ?? [];
      for (const item of items) if (item.dataset["conversation"] === left) item.focus();
    });
  };
  const backToInbox = () => {
    setView("inbox");
    accountButton.current?.focus();
  };
  const selected = state.selected ? state.conversations[state.selected] : undefined;
  const me = state.me;
  const nameOf = (visitor: string): string | null => {
    for (const c of Object.values(state.conversations)) {
      if (c.visitor?.id === visitor && (c.visitor.name || c.visitor.email)) return visitorName(c);
    }
    return null;
  };

  return (
    <div
      class={
        view !== "inbox" ? "workspace workspace--account" : selected ? "workspace workspace--chat-open" : "workspace"
      }
    >
      {view === "inbox" && handlesChats && selected && (
        // The first stop on Tab: past the top bar and the lists (up to 50 "Invite" buttons
        // in "On the site now") straight to the open chat. Shown only while focused.
        <a
          class="skip-link"
          href="#conversation"
          data-testid="skip-to-chat"
          onClick={(e) => {
            e.preventDefault();
            chatMain.current?.focus();
          }}
        >
          {t.skipToChat}
        </a>
      )}
      <header class="topbar">
        <div class="brand" aria-hidden="true">
          B
        </div>
        {view === "inbox" && selected && (
          <button
            class="button button--ghost back-to-list"
            type="button"
            data-testid="back-to-list"
            onClick={backToList}
          >
            <span aria-hidden="true">{"\u2190"}</span> {t.backToList}
            {waiting.length > 0 && <span class="count">{waiting.length}</span>}
          </button>
        )}
        <span class="topbar-title">{t.appName}</span>
        {handlesChats && state.connection !== "open" && (
          <span class="connection" role="status">
            {state.connection === "reconnecting" ? t.reconnecting : t.connecting}
          </span>
        )}
        <div class="topbar-right">
          <span class="agent-name">{me?.name ?? user.name}</span>
          {handlesChats && (
            <label class="status-select">
              <span class="visually-hidden">{t.status}</span>
              <span class={`status-dot status-dot--${state.status}`} aria-hidden="true" />
              <select
                data-testid="status"
                onChange={(e) => void setStatus(e.currentTarget.value === "away" ? "away" : "online")}
              >
                {/* `selected` on the options: a `value` on the <select> is set before they exist. */}
                <option value="online" selected={state.status === "online"}>
                  {t.statusOnline}
                </option>
                <option value="away" selected={state.status === "away"}>
                  {t.statusAway}
                </option>
              </select>
            </label>
          )}
          <button
            ref={accountButton}
            class={view === "account" ? "button button--ghost button--current" : "button button--ghost"}
            type="button"
            data-testid="account"
            aria-pressed={view === "account" ? "true" : "false"}
            onClick={() => (view === "account" ? backToInbox() : setView("account"))}
          >
            <span class="label-long">{t.account}</span>
            <span class="label-short">{t.accountShort}</span>
          </button>
          {canAdmin && (
            <button
              class={view === "admin" ? "button button--ghost button--current" : "button button--ghost"}
              type="button"
              data-testid="admin"
              aria-pressed={view === "admin" ? "true" : "false"}
              onClick={() => setView(view === "admin" ? "inbox" : "admin")}
            >
              {adminTables.en.admin}
            </button>
          )}
          {handlesChats && (
            <button
              class="button button--ghost"
              type="button"
              data-testid="sound"
              aria-pressed={sound ? "true" : "false"}
              title={t.soundHint}
              onClick={() => {
                rememberSound(!sound);
                setSound(!sound);
              }}
            >
              {sound ? t.soundOn : t.soundOff}
            </button>
          )}
          {handlesChats && alerts !== "unsupported" && (
            <button
              class="button button--ghost"
              type="button"
              data-testid="alerts"
              aria-pressed={alerts === "on" ? "true" : "false"}
              title={alerts === "blocked" ? t.notifyBlockedHint : t.notifyHint}
              onClick={() => void toggleNotify().then(setAlerts)}
            >
              {alerts === "on" ? t.notifyOn : alerts === "blocked" ? t.notifyBlocked : t.notifyOff}
            </button>
          )}
          <button class="button button--ghost" type="button" data-testid="logout" onClick={() => void logout()}>
            {t.logout}
          </button>
        </div>
      </header>
      {view === "admin" ? (
        <main class="main main--account">
          <AdminArea
            api={api}
            me={user.id}
            all={perms.all}
            mine={perms.mine}
            onBack={() => setView("inbox")}
            onCannedChanged={loadCanned}
            cannedVersion={cannedVersion}
          />
        </main>
      ) : view === "account" ? (
        <main class="main main--account">
          <AccountView
            api={api}
            email={user.email}
            totpEnabled={totpEnabled}
            totpUnreadable={totpUnreadable}
            waiting={waiting.length}
            onBack={backToInbox}
            onSessionGone={() => {
              socketRef.current?.stop();
              loggedOut.current(true);
            }}
            onTotpChanged={(enabled) => {
              setTotpEnabled(enabled);
              setTotpUnreadable(false); // set up again, or off: either way no broken secret
            }}
          />
          {mayManagePrivacy(user.role) && (
            <div class="account">
              <PrivacyPanel
                api={api}
                onSessionGone={() => {
                  socketRef.current?.stop();
                  loggedOut.current(true);
                }}
              />
            </div>
          )}
        </main>
      ) : !handlesChats ? (
        <main class="main main--account">
          <div class="empty-state" data-testid="no-chats-role">
            <p>{t.noChatRole}</p>
            {canAdmin && (
              <button class="button button--primary" type="button" onClick={() => setView("admin")}>
                {adminTables.en.admin}
              </button>
            )}
          </div>
        </main>
      ) : (
        <>
          <nav class="sidebar" aria-label={t.appName} ref={sidebar}>
            <ChatList
              title={t.waiting}
              empty={t.emptyQueue}
              items={waiting}
              testid="queue-item"
              selected={state.selected}
              onSelect={select}
            />
            <ChatList
              title={t.myChats}
              empty={t.emptyMine}
              items={mine}
              testid="my-item"
              selected={state.selected}
              onSelect={select}
            />
            {viewAll && (
              <ChatList
                title={t.teamChats}
                empty={t.emptyTeam}
                items={team}
                testid="team-item"
                selected={state.selected}
                onSelect={select}
              />
            )}
            <SiteVisitors entries={state.site} nameOf={nameOf} onInvite={actions.invite} />
          </nav>
          <main class="main" id="conversation" tabIndex={-1} ref={chatMain}>
            {selected ? (
              <ConversationView
                key={selected.id}
                conv={selected}
                page={selected.visitor ? state.pages[selected.visitor.id] ?? null : null}
                actions={actions}
                canned={canned}
                me={me?.id ?? user.id}
                files={filesAvailable}
                manageAll={perms.mine.includes("chat.manage_all")}
                maxBody={maxBody}
              />
            ) : (
              <div class="empty-state">{t.selectChat}</div>
            )}
          </main>
        </>
      )}
    </div>
  );
}

interface ListProps {
  title: string;
  empty: string;
  items: Conversation[];
  testid: "queue-item" | "my-item" | "team-item";
  selected: string | null;
  onSelect: (id: string) => void;
}

function ChatList({ title, empty, items, testid, selected, onSelect }: ListProps) {
  return (
    <section class="chat-list">
      <h2>
        {title} <span class="count">{items.length}</span>
      </h2>
      {items.length === 0 ? (
        <p class="list-empty">{empty}</p>
      ) : (
        <ul>
          {items.map((c) => (
            <li key={c.id}>
              <button
                type="button"
                class={`chat-item${c.id === selected ? " chat-item--selected" : ""}${c.state === "closed" ? " chat-item--closed" : ""}`}
                data-testid={testid}
                data-conversation={c.id}
                aria-current={c.id === selected ? "true" : undefined}
                onClick={() => onSelect(c.id)}
              >
                <span class="chat-item-top">
                  <span class="chat-item-name">{visitorName(c)}</span>
                  {c.unread && (
                    <span class="unread-dot" role="img" aria-label={t.unread} title={t.unread} />
                  )}
                  {c.state === "closed" && <span class="tag">{t.stateClosed}</span>}
                  {testid === "team-item" && c.agent?.name && (
                    <span class="tag" data-testid="holder">
                      {c.agent.name}
                    </span>
                  )}
                </span>
                <span class="chat-item-preview" dir="auto">{c.visitorTyping ? t.visitorTyping : c.preview || "\u00a0"}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
