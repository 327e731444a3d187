/** The admin area: one tab per section the user's permissions open. Hiding a tab is a
 * convenience only; every call is checked by the server. */
import { useMemo, useState } from "preact/hooks";
import type { ConsoleApi } from "../api";
import { AdminApi, sectionsFor, type Section } from "./adminApi";
import { AuditPanel } from "./AuditPanel";
import { CannedPanel } from "./CannedPanel";
import { a } from "./common";
import { DepartmentsPanel } from "./DepartmentsPanel";
import { PolicyPanel } from "./PolicyPanel";
import { RolesPanel } from "./RolesPanel";
import { TokensPanel } from "./TokensPanel";
import { UsersPanel } from "./UsersPanel";
import { WidgetsPanel } from "./WidgetsPanel";

const LABEL: Record<Section, string> = {
  users: a.tabUsers,
  departments: a.tabDepartments,
  roles: a.tabRoles,
  security: a.tabSecurity,
  tokens: a.tabTokens,
  widgets: a.tabWidgets,
  canned: a.tabCanned,
  audit: a.tabAudit,
};

interface Props {
  api: ConsoleApi;
  me: string;
  all: readonly string[];
  mine: readonly string[];
  onBack: () => void;
  onCannedChanged?: () => void;
  /** Counts canned.changed frames: the Canned tab reads its list again on each. */
  cannedVersion?: number;
}

export function AdminArea({ api, me, all, mine, onBack, onCannedChanged, cannedVersion }: Props) {
  const admin = useMemo(() => new AdminApi(api), [api]);
  const sections = sectionsFor(mine);
  const [tab, setTab] = useState<Section | null>(sections[0] ?? null);
  const current = tab !== null && sections.includes(tab) ? tab : (sections[0] ?? null);

  return (
    <div class="account admin" data-testid="admin-area">
      <div class="account-header">
        <h1>{a.adminTitle}</h1>
        <button class="button button--ghost" type="button" onClick={onBack} data-testid="admin-back">
          {a.adminBack}
        </button>
      </div>
      {current === null ? (
        <p class="muted">{a.adminNoAccess}</p>
      ) : (
        <>
          <div class="admin-tabs" role="tablist" aria-label={a.adminTitle}>
            {sections.map((s) => (
              <button
                key={s}
                type="button"
                role="tab"
                class={s === current ? "admin-tab admin-tab--on" : "admin-tab"}
                aria-selected={s === current ? "true" : "false"}
                data-testid={`admin-tab-${s}`}
                onClick={() => setTab(s)}
              >
                {LABEL[s]}
              </button>
            ))}
          </div>
          <div role="tabpanel">
            {current === "users" && <UsersPanel admin={admin} me={me} />}
            {current === "departments" && <DepartmentsPanel admin={admin} />}
            {current === "roles" && <RolesPanel admin={admin} all={all} mine={mine} />}
            {current === "security" && <PolicyPanel admin={admin} />}
            {current === "tokens" && <TokensPanel admin={admin} all={all} mine={mine} />}
            {current === "widgets" && <WidgetsPanel admin={admin} />}
            {current === "canned" && <CannedPanel admin={admin} onChanged={onCannedChanged} version={cannedVersion} />}
            {current === "audit" && <AuditPanel admin={admin} />}
          </div>
        </>
      )}
    </div>
  );
}
