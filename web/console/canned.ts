/** Canned responses in the composer: "/" + a shortcut at the end of the draft offers the
 * matching responses; choosing one replaces the "/shortcut" with its text. The agent still
 * sends the message (nothing is sent on insert). The list is read again whenever the server
 * says it changed (`canned.changed` on the socket) or the admin area changed it. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { ConsoleApi } from "./api";

export interface CannedItem {
  id: string;
  shortcut: string;
  title: string;
  body: string;
}

const TRIGGER = /(^|\s)\/([a-z0-9_-]*)$/u;

/** The typed shortcut prefix when the draft ends in "/…", else null. */
export function cannedQuery(draft: string): string | null {
  const m = TRIGGER.exec(draft);
  return m ? (m[2] ?? "") : null;
}

/** Responses whose shortcut starts with the query (exact match first), at most `limit`. */
export function cannedMatches(items: readonly CannedItem[], query: string, limit = 8): CannedItem[] {
  const q = query.toLowerCase();
  return items
    .filter((c) => c.shortcut.startsWith(q))
    .sort((x, y) => Number(y.shortcut === q) - Number(x.shortcut === q) || x.shortcut.localeCompare(y.shortcut))
    .slice(0, limit);
}

/** The draft with its trailing "/query" replaced by the response's text. */
export function insertCanned(draft: string, item: CannedItem): string {
  return draft.replace(TRIGGER, (_whole, lead: string) => `${lead}${item.body}`);
}

/**
 * The responses the signed-in agent may use (`GET /api/v1/canned`, scoped by the server) and a
 * stable `reload`. When reloads overlap (several changes in a row), only the last one's answer
 * is kept, so a slow older answer cannot bring back a deleted response.
 */
export function useCannedList(api: ConsoleApi): { items: CannedItem[]; reload: () => void } {
  const [items, setItems] = useState<CannedItem[]>([]);
  const latest = useRef(0);
  const reload = useCallback(() => {
    const ticket = ++latest.current;
    const keep = (list: CannedItem[]) => {
      if (ticket === latest.current) setItems(list);
    };
    // A failed read keeps what is shown (the next change or sign-in reads it again).
    api.call<CannedItem[]>("/api/v1/canned").then(keep, () => undefined);
  }, [api]);
  useEffect(reload, [reload]);
  return { items, reload };
}
