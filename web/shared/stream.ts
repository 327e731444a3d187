/**
 * One conversation's event log on the client: ordered by seq, each seq at most once.
 *
 * Events reach a client twice over (REST catch-up and the live socket, or a replay after a
 * reconnect); the first copy of a seq wins and later copies are ignored. A visitor's stream
 * may jump over seqs (staff-only notes); that is not loss, so gaps are kept as they are.
 */

export interface Sequenced {
  readonly seq: number;
}

/**
 * Returns `current` merged with `incoming`, sorted by seq, without duplicates.
 * Returns the very same array when nothing new was added, so UI code can compare by identity.
 */
export function mergeEvents<E extends Sequenced>(current: readonly E[], incoming: readonly E[]): readonly E[] {
  if (incoming.length === 0) return current;
  const seen = new Set<number>();
  for (const e of current) seen.add(e.seq);
  const fresh: E[] = [];
  for (const e of incoming) {
    if (!Number.isInteger(e.seq) || e.seq < 0 || seen.has(e.seq)) continue;
    seen.add(e.seq);
    fresh.push(e);
  }
  if (fresh.length === 0) return current;
  const last = current.length > 0 ? current[current.length - 1]!.seq : -1;
  fresh.sort((a, b) => a.seq - b.seq);
  // The common case, live events arriving in order, is a cheap append.
  if (fresh[0]!.seq > last) return [...current, ...fresh];
  return [...current, ...fresh].sort((a, b) => a.seq - b.seq);
}

/** The highest seq in an ordered list, or 0 for an empty one (0 means "from the start"). */
export function lastSeq(events: readonly Sequenced[]): number {
  return events.length > 0 ? events[events.length - 1]!.seq : 0;
}

/** A mutable wrapper for code that is not immutable-state based (the widget frame). */
export class EventStream<E extends Sequenced> {
  private list: readonly E[] = [];

  /** Adds events; returns those that were new, in seq order. */
  add(...events: E[]): E[] {
    const before = new Set(this.list.map((e) => e.seq));
    const next = mergeEvents(this.list, events);
    if (next === this.list) return [];
    this.list = next;
    return next.filter((e) => !before.has(e.seq));
  }

  has(seq: number): boolean {
    return this.list.some((e) => e.seq === seq);
  }

  get events(): readonly E[] {
    return this.list;
  }

  get lastSeq(): number {
    return lastSeq(this.list);
  }

  clear(): void {
    this.list = [];
  }
}
