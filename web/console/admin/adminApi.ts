/** Typed calls of the admin area and canned responses, over ConsoleApi (cookie + CSRF). */
import type { ConsoleApi } from "../api";

export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: string;
  status: string;
  totp_enabled: boolean;
  /** TOTP is on but its stored secret does not open: the user must set the app up again. */
  totp_unreadable?: boolean;
  disabled: boolean;
}

export interface RoleInfo {
  name: string;
  builtin: boolean;
  permissions: string[];
  users: number;
}

export interface Department {
  id: string;
  name: string;
  /** Days its closed chats are kept; null: the deployment's default; 0: forever. */
  retention_days?: number | null;
}

export interface Policy {
  require_2fa_roles: string[];
  ip_allowlist: string[];
  /** Whether e-mailed sign-in codes may serve as the second step (else TOTP / passkeys only). */
  allow_email_otp: boolean;
}

export interface TokenInfo {
  id: string;
  name: string;
  user_id: string;
  scopes: string[];
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked: boolean;
}

export interface Canned {
  id: string;
  shortcut: string;
  title: string;
  body: string;
  department: string | null;
  author: string | null;
  updated_at: string;
}

export interface CannedInput {
  shortcut: string;
  title: string;
  body: string;
  department: string | null;
}

export interface AuditEntry {
  at: string;
  action: string;
  actor: string | null;
  target: string | null;
  /** The staff member an id names; null for visitors, the command line and unknown ids. */
  actor_name: string | null;
  target_name: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  /** Its place in the tamper-evident chain; null on entries from before the chain. */
  seq?: number | null;
}

/** What checking the audit chain found (GET /api/v1/audit/verify). */
export interface ChainReport {
  ok: boolean;
  entries: number;
  unchained: number;
  head: { seq: number; mac: string };
  problems: string[];
}

/** The two pre-chat fields the widget knows; a field absent from the list is not asked for. */
export type PrechatName = "name" | "email";

/** A text that is null is the widget's default, shown in the visitor's language. */
export type DefaultText = string | null;

export interface WidgetPrechatField {
  name: PrechatName;
  /** null: the widget's own label ("Name", "Vardas"…), translated. */
  label: DefaultText;
  type?: string;
  required: boolean;
}

export interface WidgetConsent {
  required: boolean;
  /** null: the widget's default notice, translated. */
  text: DefaultText;
  /** Recorded with each chat's consent: a new text deserves a new version. */
  version: string;
  privacy_url: string;
}

/** A built-in rule ("iban") or an administrator's regular expression. */
export type RedactionPattern = string | { name: string; regex: string };

export type IdentityMode = "optional" | "strict";

/** `GET /api/v1/widgets`: every setting an admin may change; never the identity secrets. */
export interface AdminWidget {
  id: string;
  name: string;
  allowed_origins: string[];
  snippet: string;
  color: string;
  /** null: the widget's default greeting, translated; null in a PATCH goes back to it. */
  greeting: DefaultText;
  language: string;
  prechat_fields: WidgetPrechatField[];
  consent: WidgetConsent;
  redaction_patterns: RedactionPattern[];
  identity: { mode: IdentityMode };
  /** New chats from the widget queue for this department; null: for every agent. */
  department_id: string | null;
}

/** `PATCH /api/v1/widgets/{id}`: any of these; the server applies all or nothing. */
export type WidgetUpdate = Partial<Omit<AdminWidget, "id" | "name" | "snippet">>;

export interface Permissions {
  all: string[];
  mine: string[];
}

const seg = encodeURIComponent;

export class AdminApi {
  constructor(private readonly api: ConsoleApi) {}

  permissions(): Promise<Permissions> {
    return this.api.call<Permissions>("/api/v1/permissions");
  }

  users(): Promise<AdminUser[]> {
    return this.api.call<AdminUser[]>("/api/v1/users");
  }

  createUser(body: { email: string; password: string; role: string; name?: string }): Promise<AdminUser> {
    return this.api.call<AdminUser>("/api/v1/users", { method: "POST", body });
  }

  async setRole(user: string, role: string): Promise<void> {
    await this.api.call<unknown>(`/api/v1/users/${seg(user)}/role`, { method: "PUT", body: { role } });
  }

  async setDisabled(user: string, disabled: boolean): Promise<void> {
    await this.api.call<unknown>(`/api/v1/users/${seg(user)}/disabled`, { method: "PUT", body: { disabled } });
  }

  async endSessions(user: string): Promise<void> {
    await this.api.call<unknown>(`/api/v1/users/${seg(user)}/sessions/end`, { method: "POST", body: {} });
  }

  roles(): Promise<RoleInfo[]> {
    return this.api.call<RoleInfo[]>("/api/v1/roles");
  }

  createRole(name: string, permissions: string[]): Promise<RoleInfo> {
    return this.api.call<RoleInfo>("/api/v1/roles", { method: "POST", body: { name, permissions } });
  }

  updateRole(name: string, permissions: string[]): Promise<RoleInfo> {
    return this.api.call<RoleInfo>(`/api/v1/roles/${seg(name)}`, { method: "PUT", body: { permissions } });
  }

  async deleteRole(name: string): Promise<void> {
    await this.api.call<unknown>(`/api/v1/roles/${seg(name)}`, { method: "DELETE" });
  }

  departments(): Promise<Department[]> {
    return this.api.call<Department[]>("/api/v1/departments");
  }

  /** User id → their department ids. */
  memberships(): Promise<Record<string, string[]>> {
    return this.api.call<Record<string, string[]>>("/api/v1/department-members");
  }

  createDepartment(name: string): Promise<Department> {
    return this.api.call<Department>("/api/v1/departments", { method: "POST", body: { name } });
  }

  /** The deployment's retention in days (0: forever), which departments follow by default. */
  async retentionDefault(): Promise<number> {
    return (await this.api.call<{ default_days: number }>("/api/v1/retention")).default_days;
  }

  setRetention(department: string, days: number | null): Promise<Department> {
    return this.api.call<Department>(`/api/v1/departments/${seg(department)}/retention`, { method: "PUT", body: { days } });
  }

  setUserDepartments(user: string, departments: string[]): Promise<string[]> {
    return this.api.call<string[]>(`/api/v1/users/${seg(user)}/departments`, { method: "PUT", body: { departments } });
  }

  policy(): Promise<Policy> {
    return this.api.call<Policy>("/api/v1/security/policy");
  }

  setPolicy(body: Partial<Policy>): Promise<Policy> {
    return this.api.call<Policy>("/api/v1/security/policy", { method: "PUT", body });
  }

  tokens(): Promise<TokenInfo[]> {
    return this.api.call<TokenInfo[]>("/api/v1/tokens");
  }

  createToken(name: string, scopes: string[], days: number): Promise<TokenInfo & { token: string }> {
    return this.api.call<TokenInfo & { token: string }>("/api/v1/tokens", { method: "POST", body: { name, scopes, days } });
  }

  async revokeToken(id: string): Promise<void> {
    await this.api.call<unknown>(`/api/v1/tokens/${seg(id)}`, { method: "DELETE" });
  }

  canned(): Promise<Canned[]> {
    return this.api.call<Canned[]>("/api/v1/canned");
  }

  createCanned(body: CannedInput): Promise<Canned> {
    return this.api.call<Canned>("/api/v1/canned", { method: "POST", body });
  }

  updateCanned(id: string, body: CannedInput): Promise<Canned> {
    return this.api.call<Canned>(`/api/v1/canned/${seg(id)}`, { method: "PUT", body });
  }

  async deleteCanned(id: string): Promise<void> {
    await this.api.call<unknown>(`/api/v1/canned/${seg(id)}`, { method: "DELETE" });
  }

  widgets(): Promise<AdminWidget[]> {
    return this.api.call<AdminWidget[]>("/api/v1/widgets");
  }

  updateWidget(id: string, body: WidgetUpdate): Promise<AdminWidget> {
    return this.api.call<AdminWidget>(`/api/v1/widgets/${seg(id)}`, { method: "PATCH", body });
  }

  audit(action: string): Promise<AuditEntry[]> {
    const q = action ? `&action=${seg(action)}` : "";
    return this.api.call<AuditEntry[]>(`/api/v1/audit?limit=200${q}`);
  }

  verifyAudit(): Promise<ChainReport> {
    return this.api.call<ChainReport>("/api/v1/audit/verify");
  }
}

/** Which admin sections a set of permissions opens (the server checks every call anyway). */
export type Section = "users" | "departments" | "roles" | "security" | "tokens" | "widgets" | "canned" | "audit";

export function sectionsFor(perms: readonly string[]): Section[] {
  const has = (p: string) => perms.includes(p);
  const out: Section[] = [];
  if (has("users.manage")) out.push("users", "departments");
  if (has("roles.manage")) out.push("roles");
  if (has("users.manage")) out.push("security");
  if (has("tokens.manage")) out.push("tokens");
  if (has("widgets.manage")) out.push("widgets");
  if (has("canned.manage")) out.push("canned");
  if (has("users.manage")) out.push("audit");
  return out;
}
