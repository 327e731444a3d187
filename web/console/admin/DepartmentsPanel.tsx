/**
 * Departments: create, see who is in each (members are set per user in Users), and how
 * long each keeps its closed chats.
 */
import { useState } from "preact/hooks";
import { format } from "../../shared/i18n";
import type { AdminApi, Department } from "./adminApi";
import { a, ConfirmButton, LoadError, Status, useAction, useLoad } from "./common";

/** "Forever", "1 day", "30 days". */
export function daysText(days: number): string {
  if (days === 0) return a.retentionForever;
  return days === 1 ? a.retentionOneDay : format(a.retentionNDays, { n: days });
}

/** Days as a comparable length: 0 keeps forever. */
const span = (days: number) => (days === 0 ? Infinity : days);

export function DepartmentsPanel({ admin }: { admin: AdminApi }) {
  const deps = useLoad(() => admin.departments());
  const users = useLoad(() => admin.users());
  const members = useLoad(() => admin.memberships());
  const fallback = useLoad(() => admin.retentionDefault());
  const action = useAction();
  const [name, setName] = useState("");

  const create = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => admin.createDepartment(name), a.saved)) {
      setName("");
      deps.reload();
    }
  };
  const emailOf = (id: string) => users.data?.find((u) => u.id === id)?.email ?? id;
  const setRetention = async (dep: Department, days: number | null) => {
    if (await action.run(() => admin.setRetention(dep.id, days), a.saved)) deps.reload();
  };

  return (
    <section class="card" aria-labelledby="admin-departments">
      <div class="card-head">
        <h2 id="admin-departments">{a.tabDepartments}</h2>
      </div>
      <LoadError error={deps.error} />
      <Status status={action.status} />
      {deps.data?.length === 0 && <p class="muted">{a.noDepartments}</p>}
      <ul class="admin-list" data-testid="departments-list">
        {(deps.data ?? []).map((d) => {
          const who = Object.entries(members.data ?? {})
            .filter(([, ids]) => ids.includes(d.id))
            .map(([id]) => emailOf(id));
          return (
            <li key={`${d.id}:${d.retention_days ?? ""}`} data-testid="department-item">
              <strong>{d.name}</strong>{" "}
              <span class="muted">
                {a.members}: {who.length ? who.join(", ") : "—"}
              </span>
              {fallback.data !== null && (
                <RetentionEditor dep={d} fallback={fallback.data} busy={action.busy} onSave={(days) => void setRetention(d, days)} />
              )}
            </li>
          );
        })}
      </ul>
      {(deps.data?.length ?? 0) > 0 && <p class="hint">{a.retentionHint}</p>}
      <form class="admin-form admin-form--inline" onSubmit={(e) => void create(e)}>
        <label class="field">
          <span>{a.departmentName}</span>
          <input required maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="department-name" />
        </label>
        <button class="button button--primary" type="submit" disabled={action.busy} data-testid="department-submit">
          {a.createDepartment}
        </button>
      </form>
    </section>
  );
}

type Choice = "default" | "forever" | "days";

interface EditorProps {
  dep: Department;
  /** The deployment's default in days (0: forever). */
  fallback: number;
  busy: boolean;
  onSave: (days: number | null) => void;
}

/**
 * How long a department keeps its closed chats: the deployment's default, forever, or a
 * number of days. Shortening it deletes older chats within the hour, so it asks first.
 */
function RetentionEditor({ dep, fallback, busy, onSave }: EditorProps) {
  const own = dep.retention_days ?? null;
  const [choice, setChoice] = useState<Choice>(own === null ? "default" : own === 0 ? "forever" : "days");
  const [days, setDays] = useState(own && own > 0 ? String(own) : "");
  const id = `retention-${dep.id}`;

  const wanted: number | null | undefined =
    choice === "default" ? null : choice === "forever" ? 0 : /^\d{1,5}$/.test(days) && Number(days) >= 1 ? Number(days) : undefined;
  const effective = (value: number | null) => (value === null ? fallback : value);
  const changed = wanted !== undefined && wanted !== own;
  const shortens = wanted !== undefined && span(effective(wanted)) < span(effective(own));

  return (
    <div class="admin-form admin-form--inline retention" role="group" aria-labelledby={`${id}-label`}>
      <label class="field field--narrow">
        <span id={`${id}-label`}>{a.retention}</span>
        <select value={choice} onChange={(e) => setChoice(e.currentTarget.value as Choice)} data-testid="retention-choice">
          <option value="default">{format(a.retentionDefault, { days: daysText(fallback) })}</option>
          <option value="forever">{a.retentionForever}</option>
          <option value="days">{a.retentionSet}</option>
        </select>
      </label>
      {choice === "days" && (
        <label class="field field--tiny">
          <span>{a.retentionDays}</span>
          <input
            type="number"
            inputMode="numeric"
            min={1}
            max={36500}
            required
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
            data-testid="retention-days"
          />
        </label>
      )}
      {shortens && wanted !== undefined ? (
        <ConfirmButton
          label={a.save}
          question={format(a.confirmRetention, { name: dep.name, days: daysText(effective(wanted)) })}
          onConfirm={() => onSave(wanted)}
          testid="retention-save"
          danger
          disabled={busy}
        />
      ) : (
        <button
          class="button button--small"
          type="button"
          disabled={busy || !changed}
          onClick={() => wanted !== undefined && onSave(wanted)}
          data-testid="retention-save"
        >
          {a.save}
        </button>
      )}
    </div>
  );
}
