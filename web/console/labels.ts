/** Small display helpers shared by the console's components. */
import { CommandError } from "../shared/socket";
import { asSentence } from "../shared/text";
import type { Conversation } from "./state";
import { t } from "./strings";

/** The server's message for a refused command (written for people), or a generic one. */
export function errorText(err: unknown): string {
  return err instanceof CommandError && err.message ? asSentence(err.message) : t.errGeneric;
}

export function visitorName(c: Conversation): string {
  return c.visitor?.name || c.visitor?.email || t.anonymousVisitor;
}
