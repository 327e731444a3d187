/** Auth gate: /auth/me decides between the login form, two-step enrolment and the workspace. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import type { MeResponse, StaffUser } from "../shared/protocol";
import type { ConsoleApi } from "./api";
import { Enrollment } from "./Enrollment";
import { Login } from "./Login";
import { t } from "./strings";
import { Workspace } from "./Workspace";

type Auth =
  | { phase: "loading" }
  | { phase: "login"; notice: string | null }
  | { phase: "enroll"; user: StaffUser }
  | { phase: "in"; user: StaffUser };

export function App({ api }: { api: ConsoleApi }) {
  const [auth, setAuth] = useState<Auth>({ phase: "loading" });

  const route = useCallback(
    (res: MeResponse) => setAuth({ phase: res.enrollment_required === true ? "enroll" : "in", user: res.user }),
    [],
  );

  useEffect(() => {
    api.me().then(route, (err: unknown) =>
      setAuth({ phase: "login", notice: err instanceof ApiError && err.status === 401 ? null : t.errGeneric }),
    );
  }, [api, route]);

  const loggedOut = (expired: boolean) => setAuth({ phase: "login", notice: expired ? t.sessionExpired : null });

  if (auth.phase === "loading") {
    return (
      <div class="splash" role="status">
        {t.loading}
      </div>
    );
  }
  if (auth.phase === "login") {
    return (
      <Login
        api={api}
        notice={auth.notice}
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
