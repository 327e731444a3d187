/** "Passkeys" in Account & security (and on the enrolment screen): add, rename, remove. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { format } from "../shared/i18n";
import { apiErrorText, localTime } from "./account";
import type { Guard } from "./AccountView";
import type { ConsoleApi } from "./api";
import { pk } from "./passkeyStrings";
import { addPasskey, listPasskeys, removePasskey, renamePasskey, type PasskeyInfo } from "./passkeys-api";
import { t } from "./strings";
import { passkeyErrorText } from "./passkeyErrors";
import { passkeysSupported } from "./webauthn";

interface Props {
  api: ConsoleApi;
  guard: Guard;
  /** After a passkey was added or removed (the enrolment screen re-reads /auth/me). */
  onChanged?: (count: number) => void;
}

type Feedback = { kind: "error" | "ok"; text: string } | null;
type Mode = { kind: "list" } | { kind: "add" } | { kind: "rename"; id: string } | { kind: "remove"; id: string };

export function PasskeysSection({ api, guard, onChanged }: Props) {
  const [keys, setKeys] = useState<PasskeyInfo[] | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: "list" });
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const supported = passkeysSupported();

  const load = useCallback(async () => {
    try {
      setKeys(await guard(() => listPasskeys(api)));
    } catch (err) {
      setFeedback({ kind: "error", text: apiErrorText(err) });
    }
  }, [api, guard]);

  useEffect(() => {
    void load();
  }, [load]);

  const run = async (fn: () => Promise<string>) => {
    if (busy) return;
    setBusy(true);
    setFeedback(null);
    try {
      const ok = await guard(fn);
      setMode({ kind: "list" });
      setName("");
      const fresh = await guard(() => listPasskeys(api));
      setKeys(fresh);
      setFeedback({ kind: "ok", text: ok });
      onChanged?.(fresh.length);
    } catch (err) {
      setFeedback({ kind: "error", text: passkeyErrorText(err, apiErrorText(err)) });
    } finally {
      setPassword("");
      setBusy(false);
    }
  };

  const start = (next: Mode, initialName = "") => {
    setMode(next);
    setName(initialName);
    setPassword("");
    setFeedback(null);
  };

  const cancel = (
    <button class="button button--ghost" type="button" disabled={busy} data-testid="passkey-cancel" onClick={() => start({ kind: "list" })}>
      {pk.cancel}
    </button>
  );

  const passwordField = (label: string) => (
    <label class="field field--narrow">
      <span>{label}</span>
      <input
        type="password"
        autocomplete="current-password"
        required
        data-testid="passkey-password"
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
      />
    </label>
  );

  return (
    <section class="card" aria-labelledby="passkeys-title" data-testid="passkeys-section">
      <div class="card-head">
        <h2 id="passkeys-title">{pk.title}</h2>
        <span class={keys && keys.length > 0 ? "pill pill--on" : "pill"} data-testid="passkey-count">
          {keys ? String(keys.length) : "…"}
        </span>
      </div>
      <p class="muted">{pk.intro}</p>
      {!supported && <p class="notice notice--warn">{pk.unsupported}</p>}
      {keys === null ? (
        <p class="muted" role="status">
          {t.loading}
        </p>
      ) : keys.length === 0 ? (
        <p data-testid="passkeys-empty">{pk.none}</p>
      ) : (
        <ul class="session-list">
          {keys.map((k) => (
            <li key={k.id} class="session" data-testid="passkey-item">
              {mode.kind === "rename" && mode.id === k.id ? (
                <form
                  class="inline-form"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void run(async () => {
                      await renamePasskey(api, k.id, name.trim());
                      return pk.renamed;
                    });
                  }}
                >
                  <label class="field field--narrow">
                    <span>{pk.addName}</span>
                    <input
                      type="text"
                      required
                      maxLength={60}
                      data-testid="passkey-name"
                      value={name}
                      onInput={(e) => setName(e.currentTarget.value)}
                    />
                  </label>
                  <button class="button button--primary" type="submit" disabled={busy} data-testid="passkey-rename-save">
                    {pk.renameSave}
                  </button>
                  {cancel}
                </form>
              ) : mode.kind === "remove" && mode.id === k.id ? (
                <form
                  class="inline-form"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void run(async () => {
                      await removePasskey(api, k.id, password);
                      return pk.removed;
                    });
                  }}
                >
                  {passwordField(pk.removePassword)}
                  <button class="button button--danger" type="submit" disabled={busy} data-testid="passkey-remove-confirm">
                    {pk.removeConfirm}
                  </button>
                  {cancel}
                </form>
              ) : (
                <>
                  <div class="session-info">
                    {/* The name is the person's own text: rendered as text only. */}
                    <span class="session-device" data-testid="passkey-name-text">
                      {k.name}
                    </span>
                    <span class="session-meta">
                      {format(pk.created, { when: localTime(k.created_at) })}
                      {" · "}
                      {k.last_used_at ? format(pk.lastUsed, { when: localTime(k.last_used_at) }) : pk.neverUsed}
                    </span>
                  </div>
                  <div class="actions">
                    <button class="button" type="button" disabled={busy} data-testid="passkey-rename" onClick={() => start({ kind: "rename", id: k.id }, k.name)}>
                      {pk.rename}
                    </button>
                    <button
                      class="button button--danger"
                      type="button"
                      disabled={busy}
                      data-testid="passkey-remove"
                      aria-label={format(pk.removeLabel, { name: k.name })}
                      onClick={() => start({ kind: "remove", id: k.id })}
                    >
                      {pk.remove}
                    </button>
                  </div>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {mode.kind === "add" ? (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await addPasskey(api, password, name.trim());
              return pk.added;
            });
          }}
        >
          <label class="field field--narrow">
            <span>{pk.addName}</span>
            <input
              type="text"
              required
              maxLength={60}
              placeholder={pk.addNamePlaceholder}
              data-testid="passkey-name"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          {passwordField(pk.addPassword)}
          <div class="actions">
            <button class="button button--primary" type="submit" disabled={busy} data-testid="passkey-create">
              {busy ? t.busy : pk.addConfirm}
            </button>
            {cancel}
          </div>
        </form>
      ) : (
        <div class="actions">
          <button
            class="button button--primary"
            type="button"
            disabled={busy || !supported}
            data-testid="passkey-add"
            onClick={() => start({ kind: "add" })}
          >
            {pk.add}
          </button>
        </div>
      )}
      {feedback &&
        (feedback.kind === "error" ? (
          <p class="form-error" role="alert" data-testid="passkey-feedback">
            {feedback.text}
          </p>
        ) : (
          <p class="form-ok" role="status" data-testid="passkey-feedback">
            {feedback.text}
          </p>
        ))}
    </section>
  );
}
