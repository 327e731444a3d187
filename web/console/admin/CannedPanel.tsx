/** Canned responses: create, edit and delete; global or for one department. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { AdminApi, Canned, CannedInput, Department } from "./adminApi";
import { format } from "../../shared/i18n";
import { a, ConfirmButton, LoadError, Status, useAction, useLoad } from "./common";

const EMPTY: CannedInput = { shortcut: "", title: "", body: "", department: null };

interface Props {
  admin: AdminApi;
  onChanged?: () => void;
  /** Goes up when the socket says canned responses changed (another admin's edit). */
  version?: number;
}

export function CannedPanel({ admin, onChanged, version = 0 }: Props) {
  const canned = useLoad(() => admin.canned());
  const seen = useRef(version);
  useEffect(() => {
    if (version === seen.current) return;
    seen.current = version;
    canned.reload();
  }, [version]);
  const deps = useLoad(() => admin.departments());
  const action = useAction();
  const [form, setForm] = useState<CannedInput>(EMPTY);
  const [editing, setEditing] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const ok = await action.run(
      () => (editing ? admin.updateCanned(editing, form) : admin.createCanned(form)),
      a.saved,
    );
    if (ok) {
      setForm(EMPTY);
      setEditing(null);
      canned.reload();
      onChanged?.();
    }
  };
  const depName = (id: string | null) =>
    id === null ? a.allDepartments : (deps.data?.find((d) => d.id === id)?.name ?? id);
  const edit = (c: Canned) => {
    setEditing(c.id);
    setForm({ shortcut: c.shortcut, title: c.title, body: c.body, department: c.department });
  };

  return (
    <section class="card" aria-labelledby="admin-canned">
      <div class="card-head">
        <h2 id="admin-canned">{a.tabCanned}</h2>
      </div>
      <p class="muted">{a.cannedHint}</p>
      <LoadError error={canned.error} />
      <Status status={action.status} />
      {canned.data?.length === 0 && <p class="muted">{a.noCanned}</p>}
      <ul class="admin-list" data-testid="canned-list">
        {(canned.data ?? []).map((c) => (
          <li key={c.id} data-testid="canned-item" data-shortcut={c.shortcut}>
            <code>/{c.shortcut}</code> <strong>{c.title}</strong> <span class="tag">{depName(c.department)}</span>
            <p class="admin-body">{c.body}</p>
            <div class="admin-actions">
              <button class="button button--small" type="button" onClick={() => edit(c)}>
                {a.edit}
              </button>
              <ConfirmButton
                label={a.delete}
                question={format(a.confirmDeleteCanned, { shortcut: c.shortcut })}
                testid="canned-delete"
                danger
                onConfirm={() =>
                  void action.run(() => admin.deleteCanned(c.id), a.saved).then((ok) => {
                    if (ok) {
                      canned.reload();
                      onChanged?.();
                    }
                  })
                }
              />
            </div>
          </li>
        ))}
      </ul>
      <CannedForm form={form} setForm={setForm} deps={deps.data ?? []} busy={action.busy} editing={editing !== null} onSubmit={submit} onCancel={() => (setEditing(null), setForm(EMPTY))} />
    </section>
  );
}

interface FormProps {
  form: CannedInput;
  setForm: (f: CannedInput) => void;
  deps: Department[];
  busy: boolean;
  editing: boolean;
  onSubmit: (e: Event) => Promise<void>;
  onCancel: () => void;
}

function CannedForm({ form, setForm, deps, busy, editing, onSubmit, onCancel }: FormProps) {
  return (
    <form class="admin-form" onSubmit={(e) => void onSubmit(e)} data-testid="canned-form">
      <h3>{editing ? a.edit : a.createCanned}</h3>
      <label class="field">
        <span>{a.shortcut}</span>
        <input
          required
          maxLength={32}
          value={form.shortcut}
          onInput={(e) => setForm({ ...form, shortcut: e.currentTarget.value })}
          data-testid="canned-shortcut"
        />
      </label>
      <label class="field">
        <span>{a.title}</span>
        <input required maxLength={80} value={form.title} onInput={(e) => setForm({ ...form, title: e.currentTarget.value })} data-testid="canned-title" />
      </label>
      <label class="field">
        <span>{a.body}</span>
        <textarea required rows={3} maxLength={2000} value={form.body} onInput={(e) => setForm({ ...form, body: e.currentTarget.value })} data-testid="canned-body" />
      </label>
      <label class="field">
        <span>{a.department}</span>
        <select data-testid="canned-department" onChange={(e) => setForm({ ...form, department: e.currentTarget.value || null })}>
          <option value="" selected={form.department === null}>
            {a.allDepartments}
          </option>
          {deps.map((d) => (
            <option key={d.id} value={d.id} selected={form.department === d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <div class="admin-actions">
        <button class="button button--primary" type="submit" disabled={busy} data-testid="canned-submit">
          {editing ? a.save : a.create}
        </button>
        {editing && (
          <button class="button" type="button" onClick={onCancel}>
            {a.cancel}
          </button>
        )}
      </div>
    </form>
  );
}
