/**
 * The audit log, newest first, read-only. Details are shown as JSON text (never markup).
 * "Verify the chain" checks every entry against its MAC and the one before (as
 * `bastion audit verify` does).
 */
import { useState } from "preact/hooks";
import { format } from "../../shared/i18n";
import type { AdminApi, ChainReport } from "./adminApi";
import { a, LoadError, useAction, useLoad } from "./common";

export function AuditPanel({ admin }: { admin: AdminApi }) {
  const [filter, setFilter] = useState("");
  const [applied, setApplied] = useState("");
  const entries = useLoad(() => admin.audit(applied));
  const check = useAction();
  const [chain, setChain] = useState<ChainReport | null>(null);
  const verify = () => void check.run(async () => setChain(await admin.verifyAudit()));
  return (
    <section class="card" aria-labelledby="admin-audit">
      <div class="card-head">
        <h2 id="admin-audit">{a.tabAudit}</h2>
      </div>
      <form
        class="admin-form admin-form--inline"
        onSubmit={(e) => {
          e.preventDefault();
          // Actions are lower case ("user.login"): "User" finds them too.
          setApplied(filter.trim().toLowerCase());
          // useLoad reloads on demand only.
          setTimeout(entries.reload, 0);
        }}
      >
        <label class="field">
          <span>{a.auditFilter}</span>
          <input
            maxLength={60}
            pattern="\s*[A-Za-z0-9_.]*\s*"
            title={a.auditFilterHint}
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
            data-testid="audit-filter"
          />
        </label>
        <button class="button" type="submit" data-testid="audit-apply">
          {a.auditApply}
        </button>
      </form>
      <div class="admin-actions">
        <button class="button" type="button" disabled={check.busy} onClick={verify} data-testid="audit-verify">
          {a.auditVerify}
        </button>
      </div>
      {check.status && !check.status.ok && <LoadError error={check.status.text} />}
      {chain && <ChainResult report={chain} />}
      <LoadError error={entries.error} />
      {!entries.error && entries.data?.length === 0 && <p class="muted">{a.noAudit}</p>}
      <div class="table-scroll">
        <table class="admin-table" data-testid="audit-table">
          <thead>
            <tr>
              <th>{a.auditSeq}</th>
              <th>{a.auditWhen}</th>
              <th>{a.auditAction}</th>
              <th>{a.auditActor}</th>
              <th>{a.auditTarget}</th>
              <th>{a.auditIp}</th>
            </tr>
          </thead>
          <tbody>
            {(entries.data ?? []).map((e, i) => (
              <tr key={`${e.at}-${i}`} data-testid="audit-row">
                <td>{e.seq ?? "—"}</td>
                <td>
                  <time dateTime={e.at}>{e.at.replace("T", " ").slice(0, 19)}</time>
                </td>
                <td>
                  <code>{e.action}</code>
                  {Object.keys(e.details).length > 0 && <span class="muted admin-details"> {JSON.stringify(e.details)}</span>}
                </td>
                <td>
                  <Who id={e.actor} name={e.actor_name} />
                </td>
                <td>
                  <Who id={e.target} name={e.target_name} />
                </td>
                <td>{e.ip ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ChainResult({ report }: { report: ChainReport }) {
  if (!report.ok) {
    return (
      <div class="banner banner--error" role="alert" data-testid="audit-chain">
        <p>{a.auditVerifyBad}</p>
        <ul>
          {report.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      </div>
    );
  }
  return (
    <p class="admin-ok" role="status" data-testid="audit-chain">
      {format(a.auditVerifyOk, { entries: report.entries, seq: report.head.seq, mac: report.head.mac.slice(0, 16) })}
      {report.unchained > 0 && ` ${format(a.auditVerifyUnchained, { count: report.unchained })}`}
    </p>
  );
}

/** A staff member by name, their id beside it (ids are what the CLI and exports use). */
function Who({ id, name }: { id: string | null; name: string | null }) {
  if (!id) return <>—</>;
  if (!name) return <code>{id}</code>;
  return (
    <span title={id}>
      {name} <span class="muted">({id})</span>
    </span>
  );
}
