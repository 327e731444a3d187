import { describe, expect, it } from "vitest";
import { EventStream, lastSeq, mergeEvents } from "../shared/stream";

const ev = (seq: number, tag = "") => ({ seq, tag });

describe("mergeEvents", () => {
  it("orders events by seq", () => {
    const merged = mergeEvents([], [ev(3), ev(1), ev(2)]);
    expect(merged.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("ignores an event whose seq was already seen, keeping the first copy", () => {
    const first = mergeEvents([], [ev(1, "rest"), ev(2, "rest")]);
    const merged = mergeEvents(first, [ev(2, "live"), ev(3, "live")]);
    expect(merged).toEqual([ev(1, "rest"), ev(2, "rest"), ev(3, "live")]);
  });

  it("drops duplicates inside one batch", () => {
    expect(mergeEvents([], [ev(5, "a"), ev(5, "b")])).toEqual([ev(5, "a")]);
  });

  it("returns the same array when nothing is new", () => {
    const current = mergeEvents([], [ev(1), ev(2)]);
    expect(mergeEvents(current, [ev(1), ev(2)])).toBe(current);
    expect(mergeEvents(current, [])).toBe(current);
  });

  it("merges a REST catch-up that arrives after live events", () => {
    // Live events 4 and 5 came first; the catch-up then brings 1..5.
    const live = mergeEvents([], [ev(4, "live"), ev(5, "live")]);
    const merged = mergeEvents(live, [1, 2, 3, 4, 5].map((s) => ev(s, "rest")));
    expect(merged.map((e) => `${e.seq}:${e.tag}`)).toEqual(["1:rest", "2:rest", "3:rest", "4:live", "5:live"]);
  });

  it("keeps gaps (a visitor does not see staff notes)", () => {
    expect(mergeEvents([], [ev(1), ev(4), ev(2)]).map((e) => e.seq)).toEqual([1, 2, 4]);
  });

  it("rejects events without a usable seq", () => {
    expect(mergeEvents([], [ev(Number.NaN), ev(-1), ev(1.5), ev(2)]).map((e) => e.seq)).toEqual([2]);
  });

  it("reports the last seq, 0 when empty", () => {
    expect(lastSeq([])).toBe(0);
    expect(lastSeq(mergeEvents([], [ev(7), ev(3)]))).toBe(7);
  });
});

describe("EventStream", () => {
  it("returns only the new events from add()", () => {
    const s = new EventStream<{ seq: number; tag: string }>();
    expect(s.add(ev(2), ev(1)).map((e) => e.seq)).toEqual([1, 2]);
    expect(s.add(ev(2), ev(3)).map((e) => e.seq)).toEqual([3]);
    expect(s.lastSeq).toBe(3);
    expect(s.has(2)).toBe(true);
    s.clear();
    expect(s.events).toEqual([]);
    expect(s.lastSeq).toBe(0);
  });
});
