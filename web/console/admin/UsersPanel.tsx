/** Users: create with a role, change role, lock/unlock, end sessions, departments. */
import { useState } from "preact/hooks";
import { format } from "../../shared/i18n";
import type { AdminApi, AdminUser, Department, RoleInfo } from "./adminApi";
import { a, ConfirmButton, LoadError, Status, useAction, useLoad } from "./common";

export function UsersPanel({ admin, me }: { admin: AdminApi; me: string }) {
  const users = useLoad(() => admin.users());
  const roles = useLoad(() => admin.roles());
  const deps = useLoad(() => admin.departments());
  const members = useLoad(() => admin.memberships());
  const action = useAction();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState("agent");
  // Only an owner makes, changes or locks owners: others are not offered what would fail.
  const iAmOwner = (users.data ?? []).some((u) => u.id === me && u.role === "owner");
  const grantable = (roles.data ?? []).filter((r) => iAmOwner || r.name !== "owner");

  const create = async (e: Event) => {
    e.preventDefault();
    const body = { email, password, role, ...(name ? { name } : {}) };
    if (await action.run(() => admin.createUser(body), format(a.userCreated, { email }))) {
      setEmail("");
      setName("");
      setPassword("");
      users.reload();
    }
  };

  return (
    <section class="card" aria-labelledby="admin-users">
      <div class="card-head">
        <h2 id="admin-users">{a.tabUsers}</h2>
      </div>
      <LoadError error={users.error ?? roles.error} />
      <Status status={action.status} />
      <div class="table-scroll">
        <table class="admin-table" data-testid="users-table">
          <thead>
            <tr>
              <th>{a.email}</th>
              <th>{a.role}</th>
              <th>{a.departments}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => (
              <UserRow
                key={u.id}
                user={u}
                self={u.id === me}
                locked={!iAmOwner && u.role === "owner"}
                roles={grantable}
                departments={deps.data ?? []}
                current={members.data?.[u.id] ?? []}
                admin={admin}
                action={action}
                reload={() => {
                  users.reload();
                  roles.reload();
                  members.reload();
                }}
              />
            ))}
          </tbody>
        </table>
      </div>
      <form class="admin-form" onSubmit={(e) => void create(e)} data-testid="user-create">
        <h3>{a.createUser}</h3>
        <label class="field">
          <span>{a.email}</span>
          <input type="email" required maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} data-testid="user-email" />
        </label>
        <label class="field">
          <span>{a.name}</span>
          <input maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="user-name" />
        </label>
        <label class="field">
          <span>{a.password}</span>
          <input type="password" required autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} data-testid="user-password" />
        </label>
        <RoleSelect roles={grantable} value={role} onChange={setRole} testid="user-role" />
        <button class="button button--primary" type="submit" disabled={action.busy} data-testid="user-submit">
          {a.create}
        </button>
      </form>
    </section>
  );
}

function RoleSelect(props: { roles: RoleInfo[]; value: string; onChange: (v: string) => void; testid: string }) {
  return (
    <label class="field">
      <span>{a.role}</span>
      <select data-testid={props.testid} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.roles.map((r) => (
          <option key={r.name} value={r.name} selected={r.name === props.value}>
            {r.name}
          </option>
        ))}
      </select>
    </label>
  );
}

interface RowProps {
  user: AdminUser;
  self: boolean;
  /** An owner, seen by someone who is not: nothing here can be changed. */
  locked: boolean;
  roles: RoleInfo[];
  departments: Department[];
  current: string[];
  admin: AdminApi;
  action: ReturnType<typeof useAction>;
  reload: () => void;
}

function UserRow({ user, self, locked, roles, departments, current, admin, action, reload }: RowProps) {
  const [mine, setMine] = useState<string[] | null>(null);
  // A role picked in the list is applied only once confirmed (it ends the user's sessions,
  // and an owner can do everything).
  const [newRole, setNewRole] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>, done: string) => {
    if (await action.run(fn, done)) reload();
  };
  return (
    <tr data-testid="user-row" data-email={user.email}>
      <td>
        {user.email}
        <span class="muted"> {user.name}</span>
        {user.disabled && <span class="tag">{a.locked}</span>}
        {user.totp_enabled &&
          (user.totp_unreadable ? (
            <span class="tag tag--warn" title={a.twoStepUnreadableTitle} data-testid="user-row-totp-unreadable">
              {a.twoStepUnreadable}
            </span>
          ) : (
            <span class="tag">{a.twoStep}</span>
          ))}
      </td>
      <td>
        <select
          aria-label={`${a.role}: ${user.email}`}
          data-testid="user-row-role"
          value={newRole ?? user.role}
          disabled={self || locked || action.busy}
          onChange={(e) => {
            const role = e.currentTarget.value;
            setNewRole(role === user.role ? null : role);
          }}
        >
          {(locked ? [{ name: user.role } as RoleInfo] : roles).map((r) => (
            <option key={r.name} value={r.name} selected={r.name === (newRole ?? user.role)}>
              {r.name}
            </option>
          ))}
        </select>
        {newRole !== null && (
          <span class="confirm" role="group" aria-label={a.role} data-testid="user-row-role-ask">
            <span class="confirm-question">
              {newRole === "owner"
                ? format(a.confirmRoleOwner, { email: user.email })
                : format(a.confirmRole, { email: user.email, from: user.role, to: newRole })}
            </span>{" "}
            <button
              class="button button--small button--primary"
              type="button"
              data-testid="user-row-role-yes"
              onClick={() => {
                const role = newRole;
                setNewRole(null);
                void act(() => admin.setRole(user.id, role), a.saved);
              }}
            >
              {a.confirmYes}
            </button>{" "}
            <button class="button button--small" type="button" data-testid="user-row-role-no" onClick={() => setNewRole(null)}>
              {a.cancel}
            </button>
          </span>
        )}
      </td>
      <td>
        {departments.length === 0 ? (
          <span class="muted">{a.noDepartments}</span>
        ) : (
          <select
            multiple
            aria-label={`${a.departments}: ${user.email}`}
            data-testid="user-row-departments"
            onChange={(e) => setMine(Array.from(e.currentTarget.selectedOptions, (o) => o.value))}
          >
            {departments.map((d) => (
              <option key={d.id} value={d.id} selected={(mine ?? current).includes(d.id)}>
                {d.name}
              </option>
            ))}
          </select>
        )}
        {mine !== null && (
          <button
            class="button button--small"
            type="button"
            data-testid="user-row-departments-save"
            onClick={() =>
              void act(() => admin.setUserDepartments(user.id, mine), a.saved).then(() => setMine(null))
            }
          >
            {a.save}
          </button>
        )}
      </td>
      <td class="admin-actions">
        {!self &&
          (user.disabled ? (
            <button
              class="button button--small"
              type="button"
              data-testid="user-row-lock"
              onClick={() => void act(() => admin.setDisabled(user.id, false), a.saved)}
            >
              {a.unlock}
            </button>
          ) : (
            <ConfirmButton
              label={a.lock}
              question={format(a.confirmLock, { email: user.email })}
              testid="user-row-lock"
              danger
              disabled={action.busy}
              onConfirm={() => void act(() => admin.setDisabled(user.id, true), a.saved)}
            />
          ))}
        <ConfirmButton
          label={a.endSessions}
          question={self ? a.confirmEndOwnSessions : format(a.confirmEndSessions, { email: user.email })}
          testid="user-row-end"
          disabled={action.busy}
          onConfirm={() => void act(() => admin.endSessions(user.id), a.sessionsEnded)}
        />
      </td>
    </tr>
  );
}
