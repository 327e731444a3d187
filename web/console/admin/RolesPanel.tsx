/** Roles: the built-ins (read-only) and the custom-role editor with permission checkboxes.
 * A permission the admin does not hold is shown disabled: the server refuses it anyway. */
import { useState } from "preact/hooks";
import { format } from "../../shared/i18n";
import type { AdminApi, RoleInfo } from "./adminApi";
import { a, ConfirmButton, LoadError, Status, useAction, useLoad } from "./common";

interface Props {
  admin: AdminApi;
  all: readonly string[];
  mine: readonly string[];
}

export function RolesPanel({ admin, all, mine }: Props) {
  const roles = useLoad(() => admin.roles());
  const action = useAction();
  const [name, setName] = useState("");
  const [perms, setPerms] = useState<string[]>([]);

  const create = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => admin.createRole(name, perms), a.saved)) {
      setName("");
      setPerms([]);
      roles.reload();
    }
  };

  return (
    <section class="card" aria-labelledby="admin-roles">
      <div class="card-head">
        <h2 id="admin-roles">{a.tabRoles}</h2>
      </div>
      <LoadError error={roles.error} />
      <Status status={action.status} />
      <ul class="admin-list" data-testid="roles-list">
        {(roles.data ?? []).map((r) => (
          <RoleItem key={r.name} role={r} all={all} mine={mine} admin={admin} action={action} reload={roles.reload} />
        ))}
      </ul>
      <form class="admin-form" onSubmit={(e) => void create(e)} data-testid="role-create">
        <h3>{a.createRole}</h3>
        <label class="field">
          <span>{a.roleName}</span>
          <input
            required
            maxLength={20}
            pattern="[a-z][a-z0-9_\-]{1,19}"
            title={a.roleNameRule}
            aria-describedby="role-name-rule"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            data-testid="role-name"
          />
          <span class="hint" id="role-name-rule">
            {a.roleNameRule}
          </span>
        </label>
        <PermBoxes all={all} mine={mine} value={perms} onChange={setPerms} prefix="new" />
        <button class="button button--primary" type="submit" disabled={action.busy} data-testid="role-submit">
          {a.create}
        </button>
      </form>
    </section>
  );
}

interface ItemProps {
  role: RoleInfo;
  all: readonly string[];
  mine: readonly string[];
  admin: AdminApi;
  action: ReturnType<typeof useAction>;
  reload: () => void;
}

function RoleItem({ role, all, mine, admin, action, reload }: ItemProps) {
  const [editing, setEditing] = useState<string[] | null>(null);
  return (
    <li data-testid="role-item" data-role={role.name}>
      <strong>{role.name}</strong> <span class="tag">{role.builtin ? a.builtin : a.custom}</span>{" "}
      <span class="muted">{format(a.usersCount, { count: role.users })}</span>
      {editing === null ? (
        <p class="muted admin-perms">{role.permissions.join(", ") || "—"}</p>
      ) : (
        <>
          <PermBoxes all={all} mine={mine} value={editing} onChange={setEditing} prefix={role.name} />
          <p class="muted">{a.roleSessionsNote}</p>
        </>
      )}
      {!role.builtin && (
        <div class="admin-actions">
          {editing === null ? (
            <button class="button button--small" type="button" data-testid="role-edit" onClick={() => setEditing(role.permissions)}>
              {a.edit}
            </button>
          ) : (
            <>
              <button
                class="button button--small button--primary"
                type="button"
                data-testid="role-save"
                onClick={() =>
                  void action.run(() => admin.updateRole(role.name, editing), a.saved).then((ok) => {
                    if (ok) {
                      setEditing(null);
                      reload();
                    }
                  })
                }
              >
                {a.save}
              </button>
              <button class="button button--small" type="button" onClick={() => setEditing(null)}>
                {a.cancel}
              </button>
            </>
          )}
          <ConfirmButton
            label={a.delete}
            question={format(a.confirmDeleteRole, { name: role.name })}
            testid="role-delete"
            danger
            onConfirm={() => void action.run(() => admin.deleteRole(role.name), a.saved).then((ok) => ok && reload())}
          />
        </div>
      )}
    </li>
  );
}

interface BoxesProps {
  all: readonly string[];
  mine: readonly string[];
  value: string[];
  onChange: (v: string[]) => void;
  prefix: string;
}

export function PermBoxes({ all, mine, value, onChange, prefix }: BoxesProps) {
  return (
    <fieldset class="admin-perms-boxes">
      <legend>{a.permissions}</legend>
      {all.map((p) => {
        const held = mine.includes(p);
        return (
          <label key={p} class="admin-check" title={held ? undefined : a.notHeld}>
            <input
              type="checkbox"
              data-testid={`perm-${prefix}-${p}`}
              checked={value.includes(p)}
              disabled={!held}
              onChange={(e) =>
                onChange(e.currentTarget.checked ? [...value, p].sort() : value.filter((v) => v !== p))
              }
            />{" "}
            {p}
          </label>
        );
      })}
    </fieldset>
  );
}
