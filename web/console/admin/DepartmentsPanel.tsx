/** Departments: create, and see who is in each (members are set per user in Users). */
import { useState } from "preact/hooks";
import type { AdminApi } from "./adminApi";
import { a, LoadError, Status, useAction, useLoad } from "./common";

export function DepartmentsPanel({ admin }: { admin: AdminApi }) {
  const deps = useLoad(() => admin.departments());
  const users = useLoad(() => admin.users());
  const members = useLoad(() => admin.memberships());
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
            <li key={d.id} data-testid="department-item">
              <strong>{d.name}</strong>{" "}
              <span class="muted">
                {a.members}: {who.length ? who.join(", ") : "—"}
              </span>
            </li>
          );
        })}
      </ul>
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
