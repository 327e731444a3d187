/** Auth gate: /auth/me decides between the login form, two-step enrolment and the workspace. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import type { MeResponse, StaffUser } from "../shared/protocol";
import type { ConsoleApi } from "./api";
import { Enrollment } from "./Enrollment";
import { ForgotPassword } from "./ForgotPassword";
import { Login } from "./Login";
import { RESET_PATH, ResetPassword, takeResetToken } from "./ResetPassword";
import { t } from "./strings";
import { Workspace } from "./Workspace";

type Auth =
  | { phase: "loading" }
  | { phase: "login"; notice: string | null }
  | { phase: "forgot"; email: string }
  | { phase: "reset"; token: string | null }
  | { phase: "enroll"; user: StaffUser }
  | { phase: "in"; user: StaffUser };

export function App({ api }: { api: ConsoleApi }) {
  // A reset link opens the console at /console/reset-password#token=…: that page, signed in or not.
  const [auth, setAuth] = useState<Auth>(() =>
    window.location.pathname === RESET_PATH ? { phase: "reset", token: takeResetToken() } : { phase: "loading" },
  );
  // Whether "Forgot password?" can work (outgoing mail is set up); null until known.
  const [resetAvailable, setResetAvailable] = useState<boolean | null>(null);
  const toLogin = useCallback(() => {
    if (window.location.pathname === RESET_PATH) window.history.replaceState(null, "", "/console/");
    setAuth({ phase: "login", notice: null });
  }, []);

  const route = useCallback(
    (res: MeResponse) => setAuth({ phase: res.enrollment_required === true ? "enroll" : "in", user: res.user }),
    [],
  );

  useEffect(() => {
    if (auth.phase !== "loading") return;
    api.me().then(route, (err: unknown) =>
      setAuth({ phase: "login", notice: err instanceof ApiError && err.status === 401 ? null : t.errGeneric }),
    );
    // Only the first render asks the server; later phases are set by the pages themselves.
  }, [api, route]);

  useEffect(() => {
    if (auth.phase !== "login" || resetAvailable !== null) return;
    api.features().then(
      (f) => setResetAvailable(f.password_reset_available === true),
      // Not known (a network error): offer it; the page says so if mail is off.
      () => setResetAvailable(true),
    );
  }, [api, auth.phase, resetAvailable]);

  const loggedOut = (expired: boolean) => setAuth({ phase: "login", notice: expired ? t.sessionExpired : null });

  if (auth.phase === "loading") {
    return (
      <div class="splash" role="status">
        {t.loading}
      </div>
    );
  }
  if (auth.phase === "reset") {
    return (
      <ResetPassword
        api={api}
        token={auth.token}
        onDone={toLogin}
        onAskAgain={() => {
          window.history.replaceState(null, "", "/console/");
          setAuth({ phase: "forgot", email: "" });
        }}
      />
    );
  }
  if (auth.phase === "forgot") {
    return <ForgotPassword api={api} initialEmail={auth.email} onBack={toLogin} />;
  }
  if (auth.phase === "login") {
    return (
      <Login
        api={api}
        notice={auth.notice}
        // Hidden while mail is off (or not yet known): the link could never arrive.
        onForgot={resetAvailable ? (email) => setAuth({ phase: "forgot", email }) : undefined}
        // The login answer does not say whether two-step enrolment is still required; /me does.
        onLoggedIn={(user) => api.me().then(route, () => setAuth({ phase: "in", user }))}
      />
    );
  }
  if (auth.phase === "enroll") {
    return (
      <Enrollment
        api={api}
        user={auth.user}
        onEnrolled={() => api.me().then(route, () => loggedOut(true))}
        onLoggedOut={loggedOut}
      />
    );
  }
  return <Workspace api={api} user={auth.user} onLoggedOut={loggedOut} />;
}
