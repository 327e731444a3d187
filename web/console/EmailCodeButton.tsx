/** On the sign-in form, once a code is asked for: "E-mail me a code instead" (8 digits). */
import { useState } from "preact/hooks";
import { apiErrorText } from "./account";
import type { ConsoleApi } from "./api";
import { t } from "./strings";

interface Props {
  api: ConsoleApi;
  email: string;
  password: string;
  /** A sent code: the caller focuses the code field. */
  onSent: () => void;
}

export function EmailCodeButton({ api, email, password, onSent }: Props) {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);

  const send = async () => {
    if (busy) return;
    setBusy(true);
    setNote(null);
    try {
      await api.requestLoginCode(email.trim(), password);
      setNote({ ok: true, text: t.loginEmailCodeSent });
      onSent();
    } catch (err) {
      setNote({ ok: false, text: apiErrorText(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="email-code">
      <button class="link-button" type="button" disabled={busy} data-testid="login-email-code" onClick={() => void send()}>
        {busy ? t.busy : t.loginEmailCode}
      </button>
      {note && (
        <p class={note.ok ? "hint" : "login-error"} role={note.ok ? "status" : "alert"} data-testid="login-email-code-note">
          {note.text}
        </p>
      )}
    </div>
  );
}
