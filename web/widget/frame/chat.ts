/**
 * The widget frame's controller: session, socket, conversation state and the DOM updates.
 *
 * Flow: config → visitor session (resuming the stored token; with the host page's identity
 * statement if it gave one) → /ws/visitor hello with the resume map → the conversation's events
 * replayed and then live → the visitor chats. An agent's invitation, when no chat is open, is
 * shown above the pre-chat form; answering it starts a chat like the form does.
 */
import { ApiError, downloadFile, fetchEvents, formatSize, requestJson, saveBlob, uploadFile } from "../../shared/http";
import { format } from "../../shared/i18n";
import { measure, messageLimit } from "../../shared/limit";
import type {
  ConvState,
  ConvStateEvent,
  ConvSummary,
  InviteEvent,
  QueueInfo,
  SeqEvent,
  ServerFrame,
  SessionRequest,
  SessionResponse,
  WidgetConfig,
} from "../../shared/protocol";
import {
  backoffDelay,
  CommandError,
  SocketClient,
  type HelloAck,
  type SocketStatus,
  type WebSocketFactory,
} from "../../shared/socket";
import { EventStream } from "../../shared/stream";
import { withoutControls } from "../../shared/text";
import { loadConfig } from "./config";
import type { HostPage, Identity, ParentBridge } from "./parent";
import { sensitiveKind } from "./sensitive";
import type { Store } from "./store";
import { downloadTranscript } from "./transcript";
import {
  buildPrechat,
  consentRow,
  fieldLabel,
  prechatIntro,
  renderEvent,
  renderInvitation,
  renderPending,
  type T,
  type View,
} from "./view";

const TYPING_THROTTLE_MS = 3000;
const TYPING_IDLE_MS = 4000;
/** Hide the other side's typing indicator if its "off" never arrives. */
const TYPING_STALE_MS = 10000;
/** How long to wait for an event the server has acknowledged before fetching it over REST. */
const CATCH_UP_DELAY_MS = 1500;
/** How old the config's "is anyone online" may be when the visitor opens the pre-chat form. */
const ONLINE_RECHECK_MS = 60_000;
/** Session errors that mean the host page's statement of who its user is did not do. */
const IDENTITY_ERRORS: ReadonlySet<string> = new Set(["identity_invalid", "identity_required"]);

function isIdentityError(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401 && IDENTITY_ERRORS.has(err.code);
}

/** A failure that may pass by itself: no network, the server busy (429) or failing (5xx). */
function isTransient(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
}

interface PendingMessage {
  body: string;
  root: HTMLElement;
  status: HTMLElement;
  seq: number | null;
}

export interface ChatDeps {
  widget: string;
  config: WidgetConfig;
  t: T;
  lang: string;
  view: View;
  store: Store;
  parent: ParentBridge;
  page: HostPage;
  visible: boolean;
  /** The host page's statement of its signed-in user (snippet data attributes), if any. */
  identity?: Identity | null;
  /** Injected by tests; the browser's WebSocket otherwise. */
  WebSocket?: WebSocketFactory;
}

export class WidgetChat {
  private readonly d: ChatDeps;
  private readonly v: View;
  private readonly t: T;
  private readonly stream = new EventStream<SeqEvent>();
  private socket: SocketClient | null = null;
  private conversation: string | null;
  private summaryState: ConvState | null = null;
  private summaryAgent: string | null = null;
  private queue: QueueInfo | null = null;
  private page: HostPage;
  private visible: boolean;
  private everReady = false;
  private socketStatus: SocketStatus = "connecting";
  private readonly pending = new Set<PendingMessage>();
  private typingOn = false;
  private typingSentAt = 0;
  private typingIdle: ReturnType<typeof setTimeout> | null = null;
  private otherTypingTimer: ReturnType<typeof setTimeout> | null = null;
  private catchUpTimer: ReturnType<typeof setTimeout> | null = null;
  private lastUnread = -1;
  private authFailures: number[] = [];
  private prechat: HTMLFormElement | null = null;
  private busy = false;
  /** Sent with the first session request only: a signed token (JWT) is good for one use. */
  private identity: Identity | null;
  private invitation: HTMLElement | null = null;
  /** An invitation that arrived while the panel was hidden and has not been seen. */
  private invitationUnread = false;
  private failed = false;
  /** The server's longest message (from the widget config), in characters. */
  private readonly maxBody: number;
  /** Whether an agent is available, as the config said when it was last read. */
  private online: boolean;
  private onlineReadAt = Date.now();

  constructor(deps: ChatDeps) {
    this.d = deps;
    this.v = deps.view;
    this.t = deps.t;
    this.maxBody = messageLimit(deps.config.message_max_chars);
    this.online = deps.config.online;
    this.page = deps.page;
    this.visible = deps.visible;
    this.identity = deps.identity ?? null;
    this.conversation = deps.store.value.conversation;
    this.wireDom();
    deps.parent.listen({
      onVisible: (visible) => this.setVisible(visible),
      onPage: (page) => {
        this.page = page;
        this.sendPage();
      },
    });
  }

  /** Opens the visitor session and the socket. */
  async start(): Promise<void> {
    this.render();
    if (!(await this.openSessionRetrying())) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new SocketClient({
      url: `${scheme}//${location.host}/ws/visitor`,
      hello: () => ({
        t: "hello",
        token: this.d.store.value.token ?? "",
        // On a page load the stream is empty, so this asks for the whole history (0);
        // after a reconnect it asks only for what was missed.
        resume: this.conversation ? { [this.conversation]: this.stream.lastSeq } : {},
      }),
      onReady: (ack) => this.onReady(ack),
      onFrame: (frame) => this.onFrame(frame),
      onAuthError: () => void this.onAuthError(),
      // Said as neutrally as the server says it: no hint that this is a ban.
      onUnavailable: () => this.fail(null),
      onStatus: (status) => {
        this.socketStatus = status;
        this.renderConnection();
      },
      ...(this.d.WebSocket ? { WebSocket: this.d.WebSocket } : {}),
    });
    this.socket.start();
    window.addEventListener("online", () => {
      if (this.socket && !this.socket.isReady && this.socket.status !== "stopped") this.socket.reconnect();
    });
  }

  // --- session ---------------------------------------------------------------------------------

  /**
   * Gets a visitor token. An identity error (401 `identity_invalid` / `identity_required`) is
   * thrown at once, never retried: the host page must give a fresh statement (a page load).
   */
  private async openSession(): Promise<void> {
    const stored = this.d.store.value.token;
    const path = `/api/v1/widgets/${encodeURIComponent(this.d.widget)}/sessions`;
    const body: SessionRequest = { page_url: this.page.url, ...this.identity };
    let res: SessionResponse;
    try {
      res = await requestJson<SessionResponse>(path, {
        method: "POST",
        body: stored ? { ...body, resume_token: stored } : body,
        credentials: "omit",
      });
    } catch (err) {
      // A refusal of this visitor (`unavailable`: a ban) is final too: a fresh session would
      // be the widget itself getting round the ban.
      const refused = err instanceof ApiError && err.code === "unavailable";
      // A failure that may pass says nothing about the stored token: starting a new visitor
      // then would lose the visitor's chat. (The server answers an unknown or expired token
      // with a new visitor itself; this is for a stored value it cannot even read.)
      if (!stored || refused || isIdentityError(err) || isTransient(err)) throw err;
      // The stored token may be expired or revoked: start a fresh visitor session.
      res = await requestJson<SessionResponse>(path, { method: "POST", body, credentials: "omit" });
      this.d.store.update({ conversation: null, seq: 0, read: 0 });
      this.conversation = null;
    }
    if (typeof res.token !== "string" || !res.token) throw new ApiError(500, {});
    // Used: a later session (after the token is refused) resumes with the token alone. A widget
    // that insists on signed-in visitors then answers identity_required, and we say so.
    this.identity = null;
    this.d.store.update({ token: res.token });
  }

  private async onAuthError(): Promise<void> {
    const now = Date.now();
    this.authFailures = this.authFailures.filter((at) => now - at < 60_000);
    this.authFailures.push(now);
    if (this.authFailures.length > 2) {
      this.showNotice(this.t.errUnavailable);
      return;
    }
    this.d.store.reload();
    if (await this.openSessionRetrying()) this.socket?.reconnect();
  }

  /**
   * Opens the session, trying again with backoff (1 s doubling to 30 s, as the socket does)
   * while the failure may pass, with "Connecting…" on screen: a network blip or a server
   * restarting while the page loads must not leave a chat that only a reload brings back.
   * False, with the reason on screen, when it cannot work.
   */
  private async openSessionRetrying(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.openSession();
        return true;
      } catch (err) {
        if (!isTransient(err)) {
          this.fail(err);
          return false;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
    }
  }

  /** The chat cannot work (no session): say why, and offer nothing to type into. */
  private fail(err: unknown): void {
    this.failed = true;
    this.v.footer.hidden = true;
    if (isIdentityError(err)) {
      this.showNotice(this.t.errSignIn);
      return;
    }
    const noWidget =
      err instanceof ApiError && err.code !== "unavailable" && (err.status === 404 || err.status === 403);
    this.showNotice(noWidget ? this.t.errNoWidget : this.t.errUnavailable);
  }

  // --- socket ----------------------------------------------------------------------------------

  private onReady(ack: HelloAck): void {
    const first = !this.everReady;
    this.everReady = true;
    const conversations = ack.conversations;
    const known = this.conversation ? conversations.find((c) => c.id === this.conversation) : undefined;
    if (known) {
      this.applySummary(known);
    } else if (this.conversation !== null || first) {
      // The stored conversation is gone (or none was stored): continue the newest open one.
      const open = conversations
        .filter((c) => c.state !== "closed")
        .sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
      if (open) this.switchTo(open);
      else if (this.conversation !== null) this.switchTo(null);
    }
    this.sendPage();
    this.render();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.t) {
      case "msg":
      case "conv.state":
      case "rating":
      case "note":
      case "file":
        if (frame.conversation === this.conversation) this.addEvents([frame]);
        else if (frame.t === "conv.state") this.followNewChat(frame);
        return;
      case "queue":
        if (frame.conversation === this.conversation) {
          this.queue = { position: frame.position, eta_s: frame.eta_s };
          this.renderState();
        }
        return;
      case "typing":
        if (frame.conversation === this.conversation && frame.author?.kind !== "visitor") {
          this.setOtherTyping(frame.on, frame.author?.name ?? null);
        }
        return;
      case "invite":
        this.onInvite(frame);
        return;
      default:
        return;
    }
  }

  /**
   * A chat of this visitor that is not the one on screen came alive: the visitor started it
   * in another tab of the site. Follow it if this tab shows no chat, or only an ended one.
   */
  private followNewChat(frame: ConvStateEvent): void {
    // While this tab starts a chat, its own first event may come before the ack: not another tab's.
    if (frame.state === "closed" || this.busy) return;
    if (this.conversation !== null && this.currentState() !== "closed") return;
    const { conversation: id, state, seq, ts, agent } = frame;
    this.switchTo({ id, state, last_seq: seq, created_at: ts, agent });
  }

  /**
   * A proactive invitation from an agent. Only when no chat is open: it is shown (as text) at
   * the top of the panel, the panel opens, and it counts as unread until seen.
   */
  private onInvite(frame: InviteEvent): void {
    const message = typeof frame.message === "string" ? frame.message.trim().slice(0, this.maxBody) : "";
    if (!message || !this.everReady) return;
    if (this.conversation !== null) {
      if (this.currentState() !== "closed") return;
      this.switchTo(null);
    }
    const name = frame.agent && typeof frame.agent.name === "string" ? frame.agent.name.slice(0, 200) : null;
    const node = renderInvitation(name, message, this.t);
    if (this.invitation) this.invitation.replaceWith(node);
    else this.v.scroller.prepend(node);
    this.invitation = node;
    if (!this.visible) this.invitationUnread = true;
    this.render();
    // The form's own message box gives way to the composer: keep what was typed there.
    const draft = this.prechat?.elements.namedItem("message");
    if (draft instanceof HTMLTextAreaElement && draft.value.trim() && !this.v.composer.value) {
      this.v.composer.value = draft.value;
      draft.value = "";
      this.updateCounter();
    }
    this.v.scroller.scrollTop = 0;
    this.d.parent.post({ type: "bastion:open" });
  }

  private clearInvitation(): void {
    this.invitation?.remove();
    this.invitation = null;
    this.invitationUnread = false;
  }

  private sendPage(): void {
    const frame: { t: "page"; url: string; title?: string; referrer?: string } = { t: "page", url: this.page.url };
    if (this.page.title) frame.title = this.page.title;
    if (this.page.referrer) frame.referrer = this.page.referrer;
    this.socket?.notify(frame);
  }

  // --- conversation ----------------------------------------------------------------------------

  private applySummary(summary: ConvSummary): void {
    this.summaryState = summary.state;
    this.summaryAgent = summary.agent?.name ?? null;
  }

  /**
   * Makes `summary` the conversation on screen (null: none, show the pre-chat form). An
   * invitation on screen stays only for the chat that answers it.
   */
  private switchTo(summary: ConvSummary | null, keepInvitation = false): void {
    if (!keepInvitation) this.clearInvitation();
    this.conversation = summary?.id ?? null;
    this.stream.clear();
    this.v.log.replaceChildren();
    for (const p of this.pending) p.root.remove();
    this.pending.clear();
    this.queue = null;
    this.summaryState = null;
    this.summaryAgent = null;
    this.setOtherTyping(false, null);
    this.d.store.update({ conversation: this.conversation, seq: 0, read: 0 });
    this.lastUnread = -1;
    if (summary) {
      this.applySummary(summary);
      // Not in the hello's resume map, so the socket will not replay it: fetch it.
      void this.catchUp();
    }
    this.render();
    // A fresh form starts at its top, not where the last chat's log was scrolled to.
    if (!summary) this.v.scroller.scrollTop = 0;
  }

  private async catchUp(): Promise<void> {
    const conversation = this.conversation;
    const token = this.d.store.value.token;
    if (!conversation || !token) return;
    try {
      const events = await fetchEvents(conversation, this.stream.lastSeq, {
        headers: { Authorization: `Bearer ${token}` },
        credentials: "omit",
      });
      if (conversation === this.conversation) this.addEvents(events);
    } catch {
      // The socket's own replay will fill in later; nothing to show the visitor.
    }
  }

  /** Fetches over REST if `seq`, acknowledged by the server, has not arrived live soon after. */
  private expectSeq(seq: number): void {
    if (this.stream.has(seq) || this.catchUpTimer !== null) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = null;
      if (!this.stream.has(seq)) void this.catchUp();
    }, CATCH_UP_DELAY_MS);
  }

  private addEvents(events: SeqEvent[]): void {
    const fresh = this.stream.add(...events);
    if (fresh.length === 0) return;
    const nearBottom = this.isNearBottom();
    for (const ev of fresh) {
      const node = renderEvent(ev, this.t, this.d.lang);
      if (node) this.insertBySeq(node, ev.seq);
      if (ev.t === "msg") {
        for (const p of this.pending) {
          if (p.seq === ev.seq) {
            p.root.remove();
            this.pending.delete(p);
          }
        }
        if (ev.message.author.kind !== "visitor") this.setOtherTyping(false, null);
      }
      if (ev.t === "conv.state" && ev.state !== "waiting") this.queue = null;
    }
    this.d.store.update({ seq: this.stream.lastSeq });
    this.render();
    if (nearBottom) this.scrollToBottom();
  }

  private insertBySeq(node: HTMLElement, seq: number): void {
    const log = this.v.log;
    let before: Element | null = null;
    for (let child = log.lastElementChild; child; child = child.previousElementSibling) {
      const s = Number(child.getAttribute("data-seq"));
      if (Number.isFinite(s) && s > seq) before = child;
      else break;
    }
    log.insertBefore(node, before);
  }

  private currentState(): ConvState | null {
    if (!this.conversation) return null;
    const events = this.stream.events;
    for (let i = events.length - 1; i >= 0; i--) {
      const ev = events[i]!;
      if (ev.t === "conv.state") return ev.state;
    }
    return this.summaryState;
  }

  private agentName(): string | null {
    const events = this.stream.events;
    for (let i = events.length - 1; i >= 0; i--) {
      const ev = events[i]!;
      if (ev.t === "conv.state") return ev.agent?.name ?? null;
    }
    return this.summaryAgent;
  }

  private rating(): "good" | "bad" | null {
    const found = [...this.stream.events].reverse().find((e) => e.t === "rating");
    return found && found.t === "rating" ? found.score : null;
  }

  // --- commands --------------------------------------------------------------------------------

  /** `reply`: the composer's text, when the visitor answers an invitation there. */
  private async startChat(form: HTMLFormElement, reply?: string): Promise<void> {
    if (this.busy || !this.socket) return;
    const consent = this.d.config.consent;
    const box = form.querySelector<HTMLInputElement>('[data-testid="consent"]');
    if (consent?.required && !box?.checked) {
      this.showNotice(this.t.consentNeeded);
      box?.focus();
      return;
    }
    if (!form.reportValidity()) return;
    const fields: Record<string, string> = {};
    for (const f of this.d.config.prechat_fields) {
      const input = form.elements.namedItem(f.name);
      const value = input instanceof HTMLInputElement ? withoutControls(input.value, false).trim() : "";
      if (value) fields[f.name] = value;
    }
    const messageInput = form.elements.namedItem("message");
    const typed = reply ?? (this.invitation ? this.v.composer.value : null);
    const message = withoutControls(typed ?? (messageInput instanceof HTMLTextAreaElement ? messageInput.value : "")).trim();
    const { left, over } = measure(message, this.maxBody);
    if (over) {
      // Refused here, with the limit named; the text stays where it was typed.
      this.showNotice(this.tooLongText(-left));
      const field = typed !== null ? this.v.composer : messageInput;
      if (field instanceof HTMLElement) field.focus();
      return;
    }
    this.busy = true;
    this.showNotice(null);
    try {
      const ack = await this.socket.send({
        t: "chat.start",
        fields,
        ...(consent?.required ? { consent: { accepted: true, version: consent.version } } : {}),
        ...(message ? { message } : {}),
      });
      const summary: ConvSummary = {
        id: ack.conversation,
        state: ack.state,
        last_seq: ack.seq,
        created_at: new Date().toISOString(),
        agent: null,
      };
      this.switchTo(summary, true);
      if (typed !== null) {
        this.v.composer.value = "";
        this.autosize();
        this.updateCounter();
      }
      if (ack.queue) this.queue = ack.queue;
      this.expectSeq(ack.seq);
      this.render();
      this.v.composer.focus();
    } catch (err) {
      if (err instanceof CommandError && err.code === "consent_required" && (await this.renewConsent(form))) {
        this.showNotice(this.t.errConsentChanged);
      } else {
        this.showNotice(this.startErrorText(err, form));
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * The privacy notice changed while the page was open, so the server refused consent to the
   * old one: show the current notice, unticked, in place of the old, and keep what was typed.
   * False when the configuration cannot be read or the notice is the same (then the visitor
   * simply has not accepted it).
   */
  private async renewConsent(form: HTMLFormElement): Promise<boolean> {
    let fresh: WidgetConfig;
    try {
      fresh = await loadConfig(this.d.widget);
    } catch {
      return false;
    }
    const before = this.d.config.consent;
    const after = fresh.consent;
    if (before?.version === after?.version && before?.required === after?.required) return false;
    this.d.config = { ...this.d.config, consent: after };
    const row = consentRow(after, this.t);
    const old = form.querySelector(".consent");
    if (old && row) old.replaceWith(row);
    else if (old) old.remove();
    else if (row) form.querySelector('[data-testid="start"]')?.before(row);
    row?.querySelector("input")?.focus();
    return true;
  }

  /**
   * Why `chat.start` was refused. A pre-chat field the server would not take (`invalid_frame`
   * naming `fields.email`…) is marked and focused: trying again as it is cannot help.
   */
  private startErrorText(err: unknown, form: HTMLFormElement): string {
    if (!(err instanceof CommandError)) return this.errorText(err);
    if (err.code === "rate_limited") {
      // Counted per visitor and per address over an hour: say it in minutes, not as typing too fast.
      const wait = err.retryAfter;
      return wait && wait > 0
        ? format(this.t.errTooManyChats, { minutes: Math.max(1, Math.ceil(wait / 60)) })
        : this.t.errTooManyChatsLater;
    }
    const name = err.code === "invalid_frame" && err.field?.startsWith("fields.") ? err.field.slice(7) : null;
    const spec = name ? this.d.config.prechat_fields.find((f) => f.name === name) : undefined;
    const input = name ? form.elements.namedItem(name) : null;
    if (!spec || !(input instanceof HTMLInputElement)) return this.errorText(err);
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return format(this.t.errField, { field: fieldLabel(spec, this.t) });
  }

  /** Sends the composer's text; ``confirmed`` skips the card/password warning. */
  private async sendMessage(confirmed = false): Promise<void> {
    const conversation = this.conversation;
    const body = withoutControls(this.v.composer.value).trim();
    if (!conversation && this.invitation && this.prechat && body) {
      // Answering an invitation: start the chat (the pre-chat form's fields and consent apply).
      return this.startChat(this.prechat, body);
    }
    if (!conversation || !this.socket || !body || this.currentState() === "closed") return;
    if (measure(body, this.maxBody).over) {
      // Never cut: the counter says by how much it is over; the visitor shortens it.
      this.updateCounter();
      this.v.composer.focus();
      return;
    }
    const kind = confirmed ? null : sensitiveKind(body);
    if (kind) {
      // Stop and ask: a visitor asked for this in a chat is often being phished.
      this.v.warningText.textContent = kind === "card" ? this.t.sensitiveCard : this.t.sensitivePassword;
      this.v.warning.hidden = false;
      this.v.cancelSend.focus();
      return;
    }
    this.hideWarning();
    this.v.composer.value = "";
    this.autosize();
    this.updateCounter();
    this.stopTyping();
    const { root, status } = renderPending(body, this.t);
    const pending: PendingMessage = { body, root, status, seq: null };
    this.pending.add(pending);
    this.v.log.appendChild(root);
    this.scrollToBottom();
    try {
      const ack = await this.socket.send({ t: "msg.send", conversation, body });
      pending.seq = ack.seq;
      if (ack.redacted && ack.body !== undefined) {
        // The server masked a card number: never keep showing the original locally.
        const masked = renderPending(ack.body, this.t);
        pending.root.replaceWith(masked.root);
        Object.assign(pending, { body: ack.body, root: masked.root, status: masked.status });
      }
      if (this.stream.has(ack.seq)) {
        pending.root.remove();
        this.pending.delete(pending);
      } else {
        this.expectSeq(ack.seq);
      }
    } catch (err) {
      pending.root.classList.add("msg--failed");
      pending.status.textContent = format(this.t.notSent, { reason: this.errorText(err) });
      // Not lost: back in the composer to shorten, change or send again (unless the visitor
      // has started something new there meanwhile).
      if (!this.v.composer.value.trim() && this.currentState() !== "closed") {
        this.v.composer.value = body;
        this.autosize();
        this.updateCounter();
      }
    }
  }

  private hideWarning(): void {
    this.v.warning.hidden = true;
  }

  /** Asks "End this chat?" in place of the link; the focus goes to the safe answer. */
  private askEnd(): void {
    this.v.end.hidden = true;
    this.v.endConfirm.hidden = false;
    this.v.endNo.focus();
  }

  /** Closes the question; `refocus` puts the focus back on the End chat link. */
  private keepChatting(refocus: boolean): void {
    if (this.v.endConfirm.hidden) return;
    this.v.endConfirm.hidden = true;
    this.v.end.hidden = false;
    if (refocus) this.v.end.focus();
  }

  private async endChat(): Promise<void> {
    const conversation = this.conversation;
    this.keepChatting(false);
    if (!conversation || !this.socket) return;
    try {
      const ack = await this.socket.send({ t: "chat.end", conversation });
      this.summaryState = ack.state;
      this.render();
      // The buttons that had the focus are gone: give it to what comes next, the rating.
      this.focusClosedPanel();
    } catch (err) {
      this.showNotice(this.errorText(err));
    }
  }

  private async rate(score: "good" | "bad"): Promise<void> {
    const conversation = this.conversation;
    if (!conversation || !this.socket) return;
    // Asked before the buttons are disabled: a browser takes the focus off a disabled button.
    const hadFocus = this.v.rateBox.contains(document.activeElement);
    this.v.rateGood.disabled = this.v.rateBad.disabled = true;
    try {
      const ack = await this.socket.send({ t: "rating", conversation, score });
      this.expectSeq(ack.seq);
      this.v.rateBox.hidden = true;
      this.v.rateThanks.hidden = false;
      if (hadFocus) this.v.newChat.focus();
    } catch (err) {
      this.v.rateGood.disabled = this.v.rateBad.disabled = false;
      this.showNotice(this.errorText(err));
    }
  }

  private async saveTranscript(): Promise<void> {
    const conversation = this.conversation;
    const token = this.d.store.value.token;
    if (!conversation || !token) return;
    this.v.transcript.disabled = true;
    try {
      await downloadTranscript(conversation, token);
    } catch (err) {
      this.showNotice(this.errorText(err));
    } finally {
      this.v.transcript.disabled = false;
    }
  }

  /** The first thing to do once a chat has ended: rate it, or else start a new one. */
  private focusClosedPanel(): void {
    if (this.v.closed.hidden) return;
    (this.v.rateBox.hidden ? this.v.newChat : this.v.rateGood).focus();
  }

  private newChat(): void {
    this.switchTo(null);
    this.prechat?.querySelector<HTMLElement>("input, textarea")?.focus();
  }

  private errorText(err: unknown): string {
    const code = err instanceof CommandError || err instanceof ApiError ? err.code : "";
    if (code === "duplicate_message") return this.t.errDuplicate;
    if (code === "too_many_links") return this.t.errTooManyLinks;
    if (code === "rate_limited") {
      const wait = err instanceof CommandError ? err.retryAfter : undefined;
      return wait && wait > 1
        ? format(this.t.errRateLimitedFor, { seconds: String(wait) })
        : this.t.errRateLimited;
    }
    // A ban is answered neutrally by the server, and so by the widget.
    if (code === "unavailable") return this.t.errUnavailable;
    if (code === "invalid_state") return this.t.errInvalidState;
    if (code === "consent_required") return this.t.errConsent;
    return this.t.errGeneric;
  }

  // --- typing ----------------------------------------------------------------------------------

  private onComposerInput(): void {
    this.autosize();
    this.updateCounter();
    const conversation = this.conversation;
    if (!conversation || !this.socket) return;
    if (this.v.composer.value.trim() === "") {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (!this.typingOn || now - this.typingSentAt >= TYPING_THROTTLE_MS) {
      if (this.socket.notify({ t: "typing", conversation, on: true })) {
        this.typingOn = true;
        this.typingSentAt = now;
      }
    }
    if (this.typingIdle !== null) clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    if (this.typingIdle !== null) clearTimeout(this.typingIdle);
    this.typingIdle = null;
    if (!this.typingOn) return;
    this.typingOn = false;
    if (this.conversation) this.socket?.notify({ t: "typing", conversation: this.conversation, on: false });
  }

  private setOtherTyping(on: boolean, name: string | null): void {
    if (this.otherTypingTimer !== null) clearTimeout(this.otherTypingTimer);
    this.otherTypingTimer = null;
    const typing = this.v.typing;
    if (!on) {
      typing.remove();
      return;
    }
    typing.textContent = name ? format(this.t.typing, { name }) : this.t.typingAnonymous;
    if (!typing.isConnected) {
      const nearBottom = this.isNearBottom();
      this.v.log.after(typing);
      if (nearBottom) this.scrollToBottom();
    }
    this.otherTypingTimer = setTimeout(() => typing.remove(), TYPING_STALE_MS);
  }

  // --- visibility and unread -------------------------------------------------------------------

  private setVisible(visible: boolean): void {
    this.visible = visible;
    this.updateUnread();
    if (visible) {
      if (this.prechat?.isConnected) {
        // No chat yet: what to read first is at the top (an invitation, the greeting, whether
        // anyone is online), above the form.
        this.v.scroller.scrollTop = 0;
        void this.refreshOnline();
      } else {
        // While the panel was closed the frame had no layout, so messages that came in then
        // could not be scrolled to: show the latest now (and once more after the first paint).
        this.scrollToBottom();
        requestAnimationFrame(() => this.scrollToBottom());
      }
      const target = this.prechat?.isConnected
        ? this.prechat.querySelector<HTMLElement>("input, textarea")
        : this.v.composer.disabled
          ? null
          : this.v.composer;
      target?.focus();
    }
  }

  /**
   * Reads again whether anyone is online, when the config that said so is old: a page may stay
   * open for hours, and "we are offline" must not greet a visitor whom an agent is there for.
   */
  private async refreshOnline(): Promise<void> {
    if (Date.now() - this.onlineReadAt < ONLINE_RECHECK_MS) return;
    this.onlineReadAt = Date.now();
    let online: boolean;
    try {
      online = (await loadConfig(this.d.widget)).online;
    } catch {
      return; // the line stays as it was
    }
    if (online === this.online) return;
    this.online = online;
    // Only the first line changes: what the visitor typed into the form stays.
    this.prechat?.querySelector(".intro, .offline")?.replaceWith(prechatIntro(online, this.t));
    this.render();
  }

  private updateUnread(): void {
    if (this.visible) {
      if (this.stream.lastSeq > this.d.store.value.read) this.d.store.update({ read: this.stream.lastSeq });
    }
    const read = this.d.store.value.read;
    if (this.visible) this.invitationUnread = false;
    const unread = this.visible
      ? 0
      : this.stream.events.filter((e) => e.t === "msg" && e.seq > read && e.message.author.kind !== "visitor").length +
        (this.invitationUnread ? 1 : 0);
    if (unread !== this.lastUnread) {
      this.lastUnread = unread;
      // The launcher's name says it too: a screen reader does not read its badge.
      const label = unread > 0 ? format(this.t.launcherUnread, { count: unread }) : this.t.launcherLabel;
      this.d.parent.post({ type: "bastion:unread", count: unread, label });
    }
  }

  // --- rendering -------------------------------------------------------------------------------

  private wireDom(): void {
    const v = this.v;
    v.title.textContent = this.d.config.name || this.t.title;
    // Null: left at its default, so the widget's own greeting in the visitor's language.
    v.greeting.textContent = this.d.config.greeting || this.t.greeting;
    v.greeting.hidden = false;
    v.minimise.hidden = !this.d.parent.isEmbedded;
    v.minimise.addEventListener("click", () => this.d.parent.post({ type: "bastion:close" }));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.d.parent.isEmbedded) this.d.parent.post({ type: "bastion:close" });
    });
    v.composerForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.sendMessage();
    });
    v.composer.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.sendMessage();
      }
    });
    v.composer.addEventListener("input", () => {
      this.hideWarning(); // the question was about the text as it was
      this.onComposerInput();
    });
    v.sendAnyway.addEventListener("click", () => void this.sendMessage(true));
    v.cancelSend.addEventListener("click", () => {
      this.hideWarning();
      v.composer.focus();
    });
    v.warning.addEventListener("keydown", (e) => {
      // Escape answers "don't send" (and does not also close the whole panel).
      if (e.key === "Escape") {
        e.stopPropagation();
        this.hideWarning();
        v.composer.focus();
      }
    });
    v.composer.addEventListener("blur", () => this.stopTyping());
    v.end.addEventListener("click", () => this.askEnd());
    v.endYes.addEventListener("click", () => void this.endChat());
    v.endNo.addEventListener("click", () => this.keepChatting(true));
    v.endConfirm.addEventListener("keydown", (e) => {
      // Escape answers "keep chatting" (and does not also close the whole panel).
      if (e.key === "Escape") {
        e.stopPropagation();
        this.keepChatting(true);
      }
    });
    v.rateGood.addEventListener("click", () => void this.rate("good"));
    v.rateBad.addEventListener("click", () => void this.rate("bad"));
    v.newChat.addEventListener("click", () => this.newChat());
    v.transcript.addEventListener("click", () => void this.saveTranscript());
    // Files: only when the server shares them (it has a malware scanner).
    v.attach.hidden = !this.d.config.files;
    // The picker offers the types the server takes (it still checks the content itself).
    const types = this.d.config.files?.types.filter((type) => /^[\w.+-]+\/[\w.+-]+$/u.test(type)) ?? [];
    if (types.length > 0) v.fileInput.accept = types.join(",");
    v.attach.addEventListener("click", () => v.fileInput.click());
    v.fileInput.addEventListener("change", () => {
      const file = v.fileInput.files?.[0];
      v.fileInput.value = "";
      if (file) void this.sendFile(file);
    });
    v.log.addEventListener("click", (e) => {
      const target = e.target instanceof Element ? e.target.closest<HTMLElement>("[data-file-id]") : null;
      if (target) void this.saveFile(target.dataset.fileId ?? "", target.dataset.fileName ?? "file");
    });
  }

  // --- files -----------------------------------------------------------------------------------

  private async sendFile(file: File): Promise<void> {
    const conversation = this.conversation;
    const token = this.d.store.value.token;
    const limits = this.d.config.files;
    if (!conversation || !token || !limits) return;
    if (file.size > limits.max_bytes) {
      this.showNotice(format(this.t.errFileTooLarge, { size: formatSize(limits.max_bytes) }));
      return;
    }
    if (file.size === 0) {
      this.showNotice(this.t.errFileEmpty);
      return;
    }
    this.showNotice(format(this.t.uploading, { name: file.name }));
    this.v.attach.disabled = true;
    try {
      const res = await uploadFile(conversation, file, file.name, { Authorization: `Bearer ${token}` });
      this.showNotice(null);
      // The file event arrives on the socket; fetch it if the socket is slow.
      this.expectSeq(res.seq);
    } catch (err) {
      this.showNotice(this.fileErrorText(err));
    } finally {
      this.v.attach.disabled = false;
    }
  }

  private async saveFile(id: string, name: string): Promise<void> {
    const token = this.d.store.value.token;
    if (!id || !token) return;
    try {
      saveBlob(await downloadFile(id, { Authorization: `Bearer ${token}` }), name);
    } catch (err) {
      this.showNotice(this.errorText(err));
    }
  }

  private fileErrorText(err: unknown): string {
    const code = err instanceof ApiError ? err.code : "";
    const max = this.d.config.files?.max_bytes ?? 0;
    if (code === "file_too_large") return format(this.t.errFileTooLarge, { size: formatSize(max) });
    if (code === "file_type_refused") return this.t.errFileType;
    if (code === "file_infected") return this.t.errFileInfected;
    if (code === "file_empty") return this.t.errFileEmpty;
    if (code === "scanner_unavailable") return this.t.errFileScanner;
    return this.errorText(err);
  }

  private render(): void {
    const v = this.v;
    const state = this.currentState();
    const showPrechat = this.conversation === null && this.everReady;
    if (showPrechat && !this.prechat) {
      const form = buildPrechat({ ...this.d.config, online: this.online }, this.t);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        void this.startChat(form);
      });
      // A field the server refused is marked until the visitor changes it.
      form.addEventListener("input", (e) => {
        if (e.target instanceof HTMLElement) e.target.removeAttribute("aria-invalid");
      });
      this.prechat = form;
    }
    if (showPrechat && this.prechat && !this.prechat.isConnected) v.prechatSlot.replaceChildren(this.prechat);
    if (!showPrechat && this.prechat) {
      this.prechat.remove();
      this.prechat = null;
    }
    // Answering an invitation: the composer is the message box (the form keeps fields and consent).
    const inviting = showPrechat && this.invitation !== null;
    const formMessage = this.prechat?.querySelector<HTMLElement>(".field--message");
    if (formMessage) formMessage.hidden = inviting;
    // An agent who invites is there: "we are offline" would contradict the invitation.
    const offline = this.prechat?.querySelector<HTMLElement>(".offline");
    if (offline) offline.hidden = inviting;
    v.log.hidden = this.conversation === null;
    const footerHadFocus = v.footer.contains(document.activeElement);
    v.footer.hidden = this.failed || (this.conversation === null && !inviting) || state === "closed";
    const closed = state === "closed";
    v.composer.disabled = closed;
    if (closed || this.conversation === null) this.keepChatting(false);
    v.end.hidden = closed || this.conversation === null || !v.endConfirm.hidden;
    v.composerForm.hidden = closed;
    v.attach.hidden = !this.d.config.files || this.conversation === null;
    v.closed.hidden = !closed;
    if (closed) {
      const rated = this.rating() !== null;
      v.rateBox.hidden = rated;
      v.rateThanks.hidden = !rated;
      v.rateGood.disabled = v.rateBad.disabled = false;
      this.setOtherTyping(false, null);
      this.stopTyping();
      // The chat ended under the visitor's hands (the agent closed it): the composer that had
      // the focus is gone.
      if (footerHadFocus) this.focusClosedPanel();
    }
    const agent = state === "active" ? this.agentName() : null;
    v.agent.textContent = agent ?? "";
    v.agent.hidden = !agent;
    this.updateCounter();
    this.renderState();
    this.renderConnection();
    this.updateUnread();
  }

  private renderState(): void {
    const s = this.v.state;
    const state = this.currentState();
    if (!state) {
      s.hidden = true;
      s.removeAttribute("data-state");
      s.textContent = "";
      return;
    }
    s.hidden = false;
    s.setAttribute("data-state", state);
    let text: string;
    if (state === "waiting") {
      text = this.t.stateWaiting;
      if (this.queue && this.queue.position > 0) {
        text += ` · ${format(this.t.queuePosition, { position: this.queue.position })}`;
        if (this.queue.eta_s !== null && this.queue.eta_s > 0) {
          text += ` (${format(this.t.queueEta, { minutes: Math.max(1, Math.round(this.queue.eta_s / 60)) })})`;
        } else if (this.queue.eta_s === null) {
          // The server gives no estimate while no agent is available.
          text += `. ${this.t.queueNobody}`;
        }
      }
    } else if (state === "active") {
      const agent = this.agentName();
      text = agent ? format(this.t.stateActive, { agent }) : this.t.stateActiveNoName;
    } else {
      text = this.t.stateClosed;
    }
    s.textContent = text;
  }

  private renderConnection(): void {
    const c = this.v.connection;
    const show = this.socketStatus === "reconnecting" || (this.socketStatus === "connecting" && !this.everReady);
    c.hidden = !show || this.v.notice.hidden === false;
    c.textContent = this.socketStatus === "reconnecting" ? this.t.reconnecting : this.t.connecting;
  }

  private showNotice(text: string | null): void {
    this.v.notice.textContent = text ?? "";
    this.v.notice.hidden = text === null;
    this.renderConnection();
  }

  /**
   * Near the limit, the characters left; over it, an error naming the limit, and Send is off.
   * The text is never cut (a maxlength would drop the rest of a paste without a word).
   */
  private updateCounter(): void {
    const { left, near, over } = measure(this.v.composer.value, this.maxBody);
    const counter = this.v.counter;
    counter.hidden = !near;
    counter.textContent = over ? this.tooLongText(-left) : format(this.t.charsLeft, { count: left });
    counter.classList.toggle("counter--over", over);
    if (over) this.v.composer.setAttribute("aria-invalid", "true");
    else this.v.composer.removeAttribute("aria-invalid");
    this.v.send.disabled = over || this.currentState() === "closed";
  }

  private tooLongText(over: number): string {
    return format(this.t.tooLong, { max: this.maxBody.toLocaleString(this.d.lang), over: over.toLocaleString(this.d.lang) });
  }

  private autosize(): void {
    const c = this.v.composer;
    // CSSOM only (allowed by the CSP), never a style attribute in markup.
    c.style.height = "auto";
    c.style.height = `${Math.min(c.scrollHeight, 140)}px`;
  }

  private isNearBottom(): boolean {
    const s = this.v.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  private scrollToBottom(): void {
    const s = this.v.scroller;
    s.scrollTop = s.scrollHeight;
  }
}
