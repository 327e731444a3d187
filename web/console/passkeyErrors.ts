/** What to tell the person when a passkey ceremony did not finish. */
import { format } from "../shared/i18n";
import { pk } from "./passkeyStrings";
import { WrongHost } from "./passkeys-api";
import { isCancelled } from "./webauthn";

export function passkeyErrorText(err: unknown, fallback: string): string {
  if (err instanceof WrongHost) return format(pk.wrongHost, { host: err.rpId || "?" });
  if (isCancelled(err)) return pk.cancelled;
  return fallback;
}
