/** Canned responses in the composer: "/" + a shortcut at the end of the draft offers the
 * matching responses; choosing one replaces the "/shortcut" with its text. The agent still
 * sends the message (nothing is sent on insert). */

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
