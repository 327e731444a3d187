/**
 * Passkey sign-in on the login page: "Sign in with a passkey" (passwordless), and, when the
 * server answers `passkey_required` after the password, "Use your passkey" for that account.
 */
import { useState } from "preact/hooks";
import type { StaffUser } from "../shared/protocol";
import { apiErrorText } from "./account";
import type { ConsoleApi } from "./api";
import { pk } from "./passkeyStrings";
import { signInWithPasskey } from "./passkeys-api";
import { t } from "./strings";
import { passkeyErrorText } from "./passkeyErrors";
import { passkeysSupported } from "./webauthn";

interface Props {
  api: ConsoleApi;
  /** Set after the password was accepted and the account finishes with a passkey. */
  secondStep: { email: string; password: string } | null;
  onLoggedIn: (user: StaffUser) => void;
  onError: (text: string | null) => void;
}

export function PasskeyLogin({ api, secondStep, onLoggedIn, onError }: Props) {
  const [busy, setBusy] = useState(false);
  if (!passkeysSupported()) return null;

  const go = async () => {
    if (busy) return;
    setBusy(true);
    onError(null);
    try {
      const res = secondStep
        ? await signInWithPasskey(api, secondStep.email, secondStep.password)
        : await signInWithPasskey(api);
      onLoggedIn(res.user);
    } catch (err) {
      onError(passkeyErrorText(err, apiErrorText(err, t.loginFailed)));
      setBusy(false);
    }
  };

  if (secondStep) {
    return (
      <div class="stack">
        <p class="hint" role="status">
          {pk.loginStepHint}
        </p>
        <button class="button button--primary button--block" type="button" disabled={busy} data-testid="login-passkey-step" onClick={() => void go()}>
          {busy ? pk.loginBusy : pk.loginStep}
        </button>
      </div>
    );
  }
  return (
    <div class="stack">
      <p class="muted login-or" aria-hidden="true">
        {pk.loginOr}
      </p>
      <button class="button button--block" type="button" disabled={busy} data-testid="login-passkey" onClick={() => void go()}>
        {busy ? pk.loginBusy : pk.loginButton}
      </button>
    </div>
  );
}
