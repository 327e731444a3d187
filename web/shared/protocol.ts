/**
 * Bastion wire protocol types (docs/protocol.md), written once for the widget and the console.
 *
 * Every frame is a JSON object discriminated by `t`. Client commands carry an `id` that is also
 * the idempotency key; the server answers each with exactly one `ack` or `error` of that id.
 */

// ---------------------------------------------------------------------------------------------
// Shared shapes

export type ConvState = "waiting" | "active" | "closed";
export type AuthorKind = "visitor" | "agent" | "system";
export type AgentStatus = "online" | "away";
export type RatingScore = "good" | "bad";

export interface Author {
  kind: AuthorKind;
  name: string | null;
}

export interface ChatMessage {
  id: string;
  author: Author;
  body: string;
  ts: string;
}

/** A file shared in a conversation (already scanned clean; metadata stripped from images). */
export interface SharedFile {
  id: string;
  /** Untrusted text: render with textContent. Ends in an extension of `type`. */
  name: string;
  size: number;
  /** The type found from the content, e.g. "application/pdf". */
  type: string;
}

export interface FileMessage extends SharedFile {
  author: Author;
  ts: string;
}

export interface AgentRef {
  name: string;
  /** Staff sockets only. */
  id?: string;
}

export interface VisitorRef {
  id: string;
  name: string | null;
  email: string | null;
  verified: boolean;
}

/** A visitor's page view: untrusted text (the host page supplies both). */
export interface PageRef {
  url: string;
  title: string | null;
  ts: string;
}

export interface ConvSummary {
  id: string;
  state: ConvState;
  last_seq: number;
  created_at: string;
  agent: AgentRef | null;
  /** Staff only. */
  visitor?: VisitorRef;
  /** Staff only: last message text, at most 120 characters. */
  preview?: string | null;
  /** Staff only: the visitor's latest page view. */
  page?: PageRef | null;
}

export interface AgentInfo {
  id: string;
  name: string;
  role: string;
  status: AgentStatus;
}

export interface QueueInfo {
  position: number;
  eta_s: number | null;
}

// ---------------------------------------------------------------------------------------------
// Client → server

export interface VisitorHello {
  t: "hello";
  token: string;
  resume: Record<string, number>;
}

export interface AgentHello {
  t: "hello";
  resume: Record<string, number>;
}

export interface ChatStartCommand {
  t: "chat.start";
  fields: { name?: string; email?: string; [field: string]: string | undefined };
  consent?: { accepted: boolean; version: string };
  message?: string;
}

export interface MsgSendCommand {
  t: "msg.send";
  conversation: string;
  body: string;
}

export interface ChatEndCommand {
  t: "chat.end";
  conversation: string;
}

export interface RatingCommand {
  t: "rating";
  conversation: string;
  score: RatingScore;
  comment?: string;
}

export interface ConvAcceptCommand {
  t: "conv.accept";
  conversation: string;
}

export interface NoteSendCommand {
  t: "note.send";
  conversation: string;
  body: string;
}

export interface ConvTransferCommand {
  t: "conv.transfer";
  conversation: string;
  agent: string;
}

export interface ConvCloseCommand {
  t: "conv.close";
  conversation: string;
}

export interface StatusSetCommand {
  t: "status.set";
  status: AgentStatus;
}

/** Staff: a proactive invitation to a visitor seen on the site (via visitor.page). */
export interface InviteCommand {
  t: "invite";
  visitor: string;
  body: string;
}

/** Staff: ban the visitor (by id) or their address/range, for `duration_s` seconds. */
export type VisitorBanCommand = {
  t: "visitor.ban";
  duration_s: number;
  reason: string;
} & ({ visitor: string; ip?: never } | { ip: string; visitor?: never });

/** Commands that the server answers with an ack or an error; `id` is added by the socket client. */
export type Command =
  | VisitorHello
  | AgentHello
  | ChatStartCommand
  | MsgSendCommand
  | ChatEndCommand
  | RatingCommand
  | ConvAcceptCommand
  | NoteSendCommand
  | ConvTransferCommand
  | ConvCloseCommand
  | StatusSetCommand
  | InviteCommand
  | VisitorBanCommand;

/** Fire-and-forget frames: no id, no answer. */
export interface TypingNotice {
  t: "typing";
  conversation: string;
  on: boolean;
}

export interface PageNotice {
  t: "page";
  url: string;
  title?: string;
  referrer?: string;
}

export interface PingNotice {
  t: "ping";
}

export type Notice = TypingNotice | PageNotice | PingNotice;

// ---------------------------------------------------------------------------------------------
// Ack results, by command type

export interface VisitorHelloAck {
  visitor: string;
  conversations: ConvSummary[];
}

export interface AgentHelloAck {
  agent: AgentInfo;
  conversations: ConvSummary[];
}

/** Present when the server masked a card number or configured pattern: the stored text. */
export interface Redaction {
  redacted?: true;
  body?: string;
}

export interface AckResults {
  hello: Partial<VisitorHelloAck & AgentHelloAck> & { conversations: ConvSummary[] };
  "chat.start": { conversation: string; state: ConvState; seq: number; queue?: QueueInfo | null } & Redaction;
  "msg.send": { message: string; seq: number } & Redaction;
  "chat.end": { state: ConvState };
  rating: { seq: number };
  "conv.accept": { state: ConvState; seq: number };
  "note.send": { note: string; seq: number } & Redaction;
  "conv.transfer": { seq: number };
  "conv.close": { seq: number };
  "status.set": { status: AgentStatus };
  invite: { visitor: string };
  "visitor.ban": { ban: string; expires_at: string };
}

export type AckFor<C extends Command> = AckResults[C["t"]];

// ---------------------------------------------------------------------------------------------
// Server → client

export interface AckFrame {
  t: "ack";
  id: string;
  [result: string]: unknown;
}

export type ErrorCode =
  | "invalid_json"
  | "unknown_type"
  | "invalid_frame"
  | "frame_too_large"
  | "not_authenticated"
  | "already_authenticated"
  | "not_found"
  | "forbidden"
  | "invalid_state"
  | "consent_required"
  | "at_capacity"
  | "rate_limited"
  | "duplicate_message"
  | "too_many_links"
  | "unavailable"
  | "file_too_large"
  | "file_empty"
  | "file_type_refused"
  | "file_infected"
  | "scanner_unavailable";

export interface ErrorFrame {
  t: "error";
  id: string | null;
  /** One of ErrorCode; kept open so a newer server's codes still type-check at runtime. */
  code: ErrorCode | (string & {});
  message: string;
  field?: string;
  /** Seconds to wait, on rate_limited. */
  retry_after?: number;
}

export interface PongFrame {
  t: "pong";
  id?: string;
}

export interface MsgEvent {
  t: "msg";
  conversation: string;
  seq: number;
  message: ChatMessage;
}

export interface NoteEvent {
  t: "note";
  conversation: string;
  seq: number;
  note: ChatMessage;
}

/** A file shared by either side: download it with `GET /api/v1/files/{file.id}`. */
export interface FileEvent {
  t: "file";
  conversation: string;
  seq: number;
  file: FileMessage;
}

export interface ConvStateEvent {
  t: "conv.state";
  conversation: string;
  seq: number;
  state: ConvState;
  agent: AgentRef | null;
  ts: string;
  /** Why: back in the queue ("requeued"), or who or what closed it. "banned" is staff only. */
  reason?: StateReason;
  /** Staff only. */
  visitor?: VisitorRef;
}

export type StateReason = "requeued" | "agent" | "visitor" | "idle" | "banned";

export interface RatingEvent {
  t: "rating";
  conversation: string;
  seq: number;
  score: RatingScore;
  comment?: string | null;
  ts: string;
}

export interface TypingEvent {
  t: "typing";
  conversation: string;
  on: boolean;
  author: Author;
}

export interface QueueEvent {
  t: "queue";
  conversation: string;
  position: number;
  eta_s: number | null;
}

/** Staff: a visitor was erased (GDPR); their conversations no longer exist. */
export interface VisitorErasedEvent {
  t: "visitor.erased";
  visitor: string;
}

export interface VisitorPageEvent {
  t: "visitor.page";
  visitor: string;
  conversation?: string | null;
  url: string;
  title: string | null;
  ts: string;
}

export interface PresenceEvent {
  t: "presence";
  agent: { id: string; name: string };
  status: AgentStatus;
}

/** Staff: canned responses were created, edited or deleted; read `GET /api/v1/canned` again. */
export interface CannedChangedEvent {
  t: "canned.changed";
}

/** Visitor: an agent invites the visitor to chat (nothing is stored until `chat.start`). */
export interface InviteEvent {
  t: "invite";
  agent: { name: string | null } | null;
  message: string;
}

/** Events that belong to a conversation's ordered log. */
export type SeqEvent = MsgEvent | NoteEvent | ConvStateEvent | RatingEvent | FileEvent;

export type ServerFrame =
  | AckFrame
  | ErrorFrame
  | PongFrame
  | SeqEvent
  | TypingEvent
  | QueueEvent
  | VisitorPageEvent
  | VisitorErasedEvent
  | PresenceEvent
  | CannedChangedEvent
  | InviteEvent;

const SEQ_TYPES: ReadonlySet<string> = new Set(["msg", "note", "conv.state", "rating", "file"]);

export function isSeqEvent(frame: { t: string }): frame is SeqEvent {
  if (!SEQ_TYPES.has(frame.t)) return false;
  const f = frame as Partial<SeqEvent>;
  return typeof f.conversation === "string" && typeof f.seq === "number" && Number.isInteger(f.seq);
}

/**
 * Parses one text frame. Returns null for anything that is not a JSON object with a string `t`,
 * and for conversation events without a valid conversation id and integer seq.
 */
export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const t = (value as { t?: unknown }).t;
  if (typeof t !== "string") return null;
  if (SEQ_TYPES.has(t) && !isSeqEvent(value as { t: string })) return null;
  if (t === "msg" && !isMessage((value as { message?: unknown }).message)) return null;
  if (t === "note" && !isMessage((value as { note?: unknown }).note)) return null;
  if (t === "file" && !isFile((value as { file?: unknown }).file)) return null;
  return value as ServerFrame;
}

function isFile(f: unknown): f is FileMessage {
  if (typeof f !== "object" || f === null) return false;
  const file = f as Partial<FileMessage>;
  return (
    typeof file.id === "string" &&
    typeof file.name === "string" &&
    typeof file.size === "number" &&
    typeof file.author === "object" &&
    file.author !== null
  );
}

function isMessage(m: unknown): m is ChatMessage {
  if (typeof m !== "object" || m === null) return false;
  const msg = m as Partial<ChatMessage>;
  return (
    typeof msg.body === "string" &&
    typeof msg.author === "object" &&
    msg.author !== null &&
    typeof msg.author.kind === "string"
  );
}

// ---------------------------------------------------------------------------------------------
// REST shapes

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** `label` null: not set by an admin, the widget shows its own label in the visitor's language. */
export interface PrechatField {
  name: string;
  label: string | null;
  type: string;
  required: boolean;
}

/**
 * `GET /api/v1/widgets/{id}/config`. A text that is null (the greeting, a field's label, the
 * consent text) was left at its default: the widget shows its own, in the visitor's language.
 */
export interface WidgetConfig {
  id: string;
  name: string;
  color: string;
  greeting: string | null;
  language: string | null;
  prechat_fields: PrechatField[];
  /** `version` is the widget's, recorded with the chat's consent whichever text was shown. */
  consent: { required: boolean; text: string | null; version: string; privacy_url: string | null } | null;
  online: boolean;
  /** File sharing: null while it is off (no malware scanner configured on the server). */
  files?: { max_bytes: number; types: string[] } | null;
  /** The longest message the server takes, in characters (absent from an older server). */
  message_max_chars?: number;
}

/** `POST /api/v1/conversations/{id}/files` (the body is the file's bytes). */
export interface UploadResponse {
  file: SharedFile;
  conversation: string;
  seq: number;
}

/** `POST /api/v1/widgets/{id}/sessions`. The identity fields come from the host page's snippet. */
export interface SessionRequest {
  page_url: string;
  resume_token?: string;
  user_id?: string;
  user_hash?: string;
  identity_jwt?: string;
}

export interface SessionResponse {
  token: string;
  visitor: string;
  expires_at: string;
  /** The host page's identity statement was accepted. */
  verified?: boolean;
}

export interface StaffUser {
  id: string;
  email: string;
  name: string;
  role: string;
  status?: string;
  /** Two-step login (TOTP) is on for this account. */
  totp_enabled?: boolean;
  /** TOTP is on but its stored secret does not open: app codes are refused until it is set up again. */
  totp_unreadable?: boolean;
  /** E-mailed one-time codes are accepted as the second step. */
  email_otp_enabled?: boolean;
}

export interface MeResponse {
  user: StaffUser;
  csrf_token: string;
  /** The user's role requires two-step login and it is not set up: only enrolment is allowed. */
  enrollment_required?: boolean;
  /** E-mail is set up and the policy allows e-mailed codes as the second step. */
  email_otp_available?: boolean;
  /** A malware scanner is set up, so files can be shared. */
  files_available?: boolean;
  /** The longest message or note the server takes, in characters. */
  message_max_chars?: number;
}

export type LoginResponse = MeResponse;

export interface EventsResponse {
  events: SeqEvent[];
  last_seq: number;
}

/** `POST /api/v1/auth/totp/setup` (`{"password"}`): a new, not yet active, TOTP secret. */
export interface TotpSetupResponse {
  secret: string;
  otpauth_uri: string;
  qr_svg_data_uri: string;
}

/** `POST /api/v1/auth/totp/confirm`: TOTP is on; the recovery codes are shown this once. */
export interface TotpConfirmResponse {
  recovery_codes: string[];
}

/** One of the signed-in staff member's sessions (`GET /api/v1/auth/sessions`). */
export interface StaffSessionInfo {
  id: string;
  created_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}
