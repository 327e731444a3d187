/** `/api/v1/auth/passkeys` calls and the two browser ceremonies around them. */
import type { LoginResponse } from "../shared/protocol";
import type { ConsoleApi } from "./api";
import { assertionJson, creationOptions, registrationJson, requestOptions } from "./webauthn";

const BASE = "/api/v1/auth/passkeys";

/** The page is not on the passkeys' domain (e.g. opened at 127.0.0.1 while the RP is localhost). */
export class WrongHost extends Error {
  constructor(readonly rpId: string) {
    super(`passkeys work at ${rpId}`);
    this.name = "WrongHost";
  }
}

/** A browser refuses an RP id that is not this page's host or a parent domain of it. */
export function checkHost(rpId: unknown, host: string = location.hostname): void {
  const rp = typeof rpId === "string" ? rpId.toLowerCase() : "";
  const here = host.toLowerCase();
  if (!rp || (here !== rp && !here.endsWith(`.${rp}`))) throw new WrongHost(rp);
}

export interface PasskeyInfo {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  transports: string[];
}

interface CeremonyResponse {
  ceremony: string;
  public_key: Record<string, unknown>;
}

export function listPasskeys(api: ConsoleApi): Promise<PasskeyInfo[]> {
  return api.request<PasskeyInfo[]>(BASE);
}

/** Password check, then the browser's "create a passkey" dialog, then the server's check. */
export async function addPasskey(
  api: ConsoleApi,
  password: string,
  name: string,
  credentials: CredentialsContainer = navigator.credentials,
): Promise<PasskeyInfo> {
  const c = await api.request<CeremonyResponse>(`${BASE}/register/options`, { method: "POST", body: { password } });
  checkHost((c.public_key.rp as { id?: unknown } | undefined)?.id);
  const cred = await credentials.create({ publicKey: creationOptions(c.public_key) });
  if (!(cred instanceof PublicKeyCredential)) throw new DOMException("no credential", "NotAllowedError");
  return api.request<PasskeyInfo>(`${BASE}/register`, {
    method: "POST",
    body: { ceremony: c.ceremony, credential: registrationJson(cred), name },
  });
}

export function renamePasskey(api: ConsoleApi, id: string, name: string): Promise<PasskeyInfo> {
  return api.request<PasskeyInfo>(`${BASE}/${encodeURIComponent(id)}`, { method: "PATCH", body: { name } });
}

export async function removePasskey(api: ConsoleApi, id: string, password: string): Promise<void> {
  await api.request<unknown>(`${BASE}/${encodeURIComponent(id)}/delete`, { method: "POST", body: { password } });
}

/**
 * Signs in with a passkey: without arguments passwordless (any passkey of this site), with
 * e-mail and password as the step after the password. Sets the session cookie.
 */
export async function signInWithPasskey(
  api: ConsoleApi,
  email?: string,
  password?: string,
  credentials: CredentialsContainer = navigator.credentials,
): Promise<LoginResponse> {
  const body = email && password ? { email, password } : {};
  const c = await api.request<CeremonyResponse>(`${BASE}/login/options`, { method: "POST", body });
  checkHost(c.public_key.rpId);
  const cred = await credentials.get({ publicKey: requestOptions(c.public_key) });
  if (!(cred instanceof PublicKeyCredential)) throw new DOMException("no credential", "NotAllowedError");
  const res = await api.request<LoginResponse>(`${BASE}/login`, {
    method: "POST",
    body: { ceremony: c.ceremony, credential: assertionJson(cred) },
  });
  return api.adopt(res);
}
