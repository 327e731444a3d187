/** API tokens: create (the secret is shown once, here, and kept nowhere), list, revoke. */
import { useState } from "preact/hooks";
import { format } from "../../shared/i18n";
import type { AdminApi } from "./adminApi";
import { a, ConfirmButton, LoadError, Status, useAction, useLoad } from "./common";
import { PermBoxes } from "./RolesPanel";

interface Props {
  admin: AdminApi;
  all: readonly string[];
  mine: readonly string[];
}

export function TokensPanel({ admin, all, mine }: Props) {
  const tokens = useLoad(() => admin.tokens());
  const action = useAction();
  const [name, setName] = useState("");
  const [days, setDays] = useState(30);
  const [scopes, setScopes] = useState<string[]>([]);
  const [secret, setSecret] = useState<string | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setSecret(null);
    await action.run(async () => {
      const made = await admin.createToken(name, scopes, days);
      setSecret(made.token);
      setName("");
      setScopes([]);
      tokens.reload();
    });
  };

  return (
    <section class="card" aria-labelledby="admin-tokens">
      <div class="card-head">
        <h2 id="admin-tokens">{a.tabTokens}</h2>
      </div>
      <LoadError error={tokens.error} />
      <Status status={action.status} />
      {secret && (
        <div class="admin-secret" role="status">
          <p>{a.tokenShownOnce}</p>
          <code data-testid="token-secret">{secret}</code>
        </div>
      )}
      {tokens.data?.length === 0 && <p class="muted">{a.noTokens}</p>}
      <ul class="admin-list" data-testid="tokens-list">
        {(tokens.data ?? []).map((tk) => (
          <li key={tk.id} data-testid="token-item">
            <strong>{tk.name}</strong> <span class="muted">{tk.scopes.join(", ")}</span>{" "}
            <span class="muted">{format(a.expires, { date: tk.expires_at.slice(0, 10) })}</span>{" "}
            {tk.revoked ? (
              <span class="tag">{a.revoked}</span>
            ) : (
              <ConfirmButton
                label={a.revoke}
                question={format(a.confirmRevoke, { name: tk.name })}
                testid="token-revoke"
                danger
                onConfirm={() => void action.run(() => admin.revokeToken(tk.id), a.saved).then((ok) => ok && tokens.reload())}
              />
            )}
          </li>
        ))}
      </ul>
      <form class="admin-form" onSubmit={(e) => void create(e)} data-testid="token-create">
        <h3>{a.createToken}</h3>
        <label class="field">
          <span>{a.tokenName}</span>
          <input required maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="token-name" />
        </label>
        <label class="field field--narrow">
          <span>{a.tokenDays}</span>
          <input
            type="number"
            min={1}
            max={365}
            value={days}
            onInput={(e) => setDays(Number(e.currentTarget.value) || 1)}
            data-testid="token-days"
          />
        </label>
        <PermBoxes all={all} mine={mine} value={scopes} onChange={setScopes} prefix="token" />
        {scopes.length === 0 && (
          <p class="muted" data-testid="token-needs-scope">
            {a.tokenNeedsScope}
          </p>
        )}
        <button
          class="button button--primary"
          type="submit"
          disabled={action.busy || scopes.length === 0}
          data-testid="token-submit"
        >
          {a.createToken}
        </button>
      </form>
    </section>
  );
}
