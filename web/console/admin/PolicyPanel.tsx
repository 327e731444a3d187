/** Security policy: roles that must use two-step login, whether e-mailed codes count as a
 * second step, and the staff IP allow-list.
 * The server refuses a list that leaves out the caller's own address; its message says so. */
import { useEffect, useState } from "preact/hooks";
import type { AdminApi } from "./adminApi";
import { a, LoadError, Status, useAction, useLoad } from "./common";

export function PolicyPanel({ admin }: { admin: AdminApi }) {
  const policy = useLoad(() => admin.policy());
  const roles = useLoad(() => admin.roles());
  const action = useAction();
  const [required, setRequired] = useState<string[]>([]);
  const [ranges, setRanges] = useState("");
  const [emailOtp, setEmailOtp] = useState(true);

  useEffect(() => {
    if (!policy.data) return;
    setRequired(policy.data.require_2fa_roles);
    setRanges(policy.data.ip_allowlist.join("\n"));
    setEmailOtp(policy.data.allow_email_otp !== false);
  }, [policy.data]);

  const save = async (e: Event) => {
    e.preventDefault();
    const ip_allowlist = ranges
      .split(/[\s,]+/u)
      .map((r) => r.trim())
      .filter(Boolean);
    await action.run(() => admin.setPolicy({ require_2fa_roles: required, ip_allowlist, allow_email_otp: emailOtp }), a.saved);
  };

  return (
    <section class="card" aria-labelledby="admin-security">
      <div class="card-head">
        <h2 id="admin-security">{a.tabSecurity}</h2>
      </div>
      <LoadError error={policy.error} />
      <Status status={action.status} />
      <form class="admin-form" onSubmit={(e) => void save(e)} data-testid="policy-form">
        <fieldset class="admin-perms-boxes">
          <legend>{a.require2fa}</legend>
          {(roles.data ?? []).map((r) => (
            <label key={r.name} class="admin-check">
              <input
                type="checkbox"
                data-testid={`require2fa-${r.name}`}
                checked={required.includes(r.name)}
                onChange={(e) =>
                  setRequired(
                    e.currentTarget.checked ? [...required, r.name].sort() : required.filter((x) => x !== r.name),
                  )
                }
              />{" "}
              {r.name}
            </label>
          ))}
        </fieldset>
        <label class="admin-check">
          <input
            type="checkbox"
            data-testid="policy-email-otp"
            checked={emailOtp}
            onChange={(e) => setEmailOtp(e.currentTarget.checked)}
          />{" "}
          {a.allowEmailOtp}
        </label>
        <label class="field">
          <span>{a.ipAllowlist}</span>
          <textarea rows={4} value={ranges} onInput={(e) => setRanges(e.currentTarget.value)} data-testid="policy-ips" />
        </label>
        <p class="muted">{a.lockoutGuard}</p>
        <button class="button button--primary" type="submit" disabled={action.busy} data-testid="policy-save">
          {a.save}
        </button>
      </form>
    </section>
  );
}
