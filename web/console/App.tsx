/** Auth gate: /auth/me decides between the login form and the workspace. */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../shared/http";
import type { StaffUser } from "../shared/protocol";
import type { ConsoleApi } from "./api";
import { Login } from "./Login";
import { t } from "./strings";
import { Workspace } from "./Workspace";

type Auth = { phase: "loading" } | { phase: "login"; notice: string | null } | { phase: "in"; user: StaffUser };

export function App({ api }: { api: ConsoleApi }) {
  const [auth, setAuth] = useState<Auth>({ phase: "loading" });

  useEffect(() => {
    api.me().then(
      (res) => setAuth({ phase: "in", user: res.user }),
      (err: unknown) =>
        setAuth({ phase: "login", notice: err instanceof ApiError && err.status === 401 ? null : t.errGeneric }),
    );
  }, [api]);

  if (auth.phase === "loading") {
    return (
      <div class="splash" role="status">
        {t.loading}
      </div>
    );
  }
  if (auth.phase === "login") {
    return <Login api={api} notice={auth.notice} onLoggedIn={(user) => setAuth({ phase: "in", user })} />;
  }
  return (
    <Workspace
      api={api}
      user={auth.user}
      onLoggedOut={(expired) => setAuth({ phase: "login", notice: expired ? t.sessionExpired : null })}
    />
  );
}
