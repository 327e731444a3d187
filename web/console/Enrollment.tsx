/**
 * The only screen for a user whose role requires two-step login they have not set up
 * (`enrollment_required` from /auth/me): the server refuses everything else until they do.
 */
import { useEffect, useRef } from "preact/hooks";
import type { StaffUser } from "../shared/protocol";
import { TotpSection, useSessionGuard } from "./AccountView";
import type { ConsoleApi } from "./api";
import { PasskeysSection } from "./Passkeys";
import { EmailOtpSection } from "./EmailOtpSection";
import { t } from "./strings";

interface Props {
  api: ConsoleApi;
  user: StaffUser;
  onEnrolled: () => void;
  onLoggedOut: (expired: boolean) => void;
}

export function Enrollment({ api, user, onEnrolled, onLoggedOut }: Props) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  const guard = useSessionGuard(() => onLoggedOut(true));

  useEffect(() => headingRef.current?.focus(), []);

  const logout = async () => {
    try {
      await api.logout();
    } catch {
      // The cookie may already be gone; the local session ends either way.
    }
    onLoggedOut(false);
  };

  return (
    <div class="workspace workspace--account">
      <header class="topbar">
        <div class="brand" aria-hidden="true">
          B
        </div>
        <span class="topbar-title">{t.appName}</span>
        <div class="topbar-right">
          <span class="agent-name">{user.name}</span>
          <button class="button button--ghost" type="button" data-testid="logout" onClick={() => void logout()}>
            {t.logout}
          </button>
        </div>
      </header>
      <main class="main main--account">
        <section class="account" aria-labelledby="enroll-title" data-testid="enrollment">
          <header class="account-header">
            <h1 id="enroll-title" ref={headingRef} tabIndex={-1}>
              {t.enrollTitle}
            </h1>
          </header>
          <p class="notice notice--warn">{t.enrollNotice}</p>
          <TotpSection
            api={api}
            guard={guard}
            initiallyEnabled={user.totp_enabled === true}
            initiallyUnreadable={user.totp_unreadable === true}
            onChanged={() => undefined}
            onDone={onEnrolled}
          />
          {/* A passkey counts as two-step login too. */}
          <PasskeysSection api={api} guard={guard} onChanged={(count) => count > 0 && onEnrolled()} />
          <EmailOtpSection api={api} guard={guard} email={user.email} onEnabled={onEnrolled} />
        </section>
      </main>
    </div>
  );
}
