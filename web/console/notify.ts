/**
 * Desktop notifications for an agent whose console tab is in the background: a chat
 * waiting in the queue, a visitor's message in one of their chats.
 *
 * They say *that* something needs the agent, never who or what: no visitor name, no
 * message text. A notification can show on a locked screen or a shared monitor, and the
 * people in a clinic's or a bank's chats are not for passers-by. Opt-in per browser
 * (the browser asks once); the choice is kept in localStorage.
 */
import { format } from "../shared/i18n";
import type { AttentionNews } from "./state";
import { t } from "./strings";

const KEY = "bastion:console:notify";

export type NotifyState = "unsupported" | "off" | "on" | "blocked";

function api(): typeof Notification | undefined {
  // Browsers offer it only on secure pages (https, or localhost).
  return globalThis.isSecureContext ? globalThis.Notification : undefined;
}

function stored(): string | null {
  try {
    return globalThis.localStorage?.getItem(KEY) ?? null;
  } catch {
    return null;
  }
}

function remember(on: boolean): void {
  try {
    globalThis.localStorage?.setItem(KEY, on ? "on" : "off");
  } catch {
    // Storage refused (private mode): the choice lasts this page only.
  }
}

export function notifyState(): NotifyState {
  const N = api();
  if (!N) return "unsupported";
  if (N.permission === "denied") return "blocked";
  return N.permission === "granted" && stored() === "on" ? "on" : "off";
}

/** Turn them on (asking the browser if it has not been asked) or off; the new state. */
export async function toggleNotify(): Promise<NotifyState> {
  const N = api();
  if (!N) return "unsupported";
  if (notifyState() === "on") {
    remember(false);
    return "off";
  }
  const permission = N.permission === "default" ? await N.requestPermission() : N.permission;
  remember(permission === "granted");
  return notifyState();
}

/** Show one; a newer one replaces it (one tag). A click brings the tab back. */
export function notify(news: AttentionNews, onOpen: (conversation: string) => void): void {
  const N = api();
  if (!N || notifyState() !== "on") return;
  const body =
    news.kind === "message"
      ? t.notifyMessage
      : news.waiting > 1
        ? format(t.notifyWaitingMany, { count: news.waiting })
        : t.notifyWaitingOne;
  try {
    const shown = new N(t.appName, { body, tag: "bastion-console" });
    shown.onclick = () => {
      globalThis.focus?.();
      onOpen(news.conversation);
      shown.close();
    };
  } catch {
    // Some platforms allow notifications only from a service worker: the title and the
    // tone still say it.
  }
}
