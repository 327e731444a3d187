import { describe, expect, it } from "vitest";
import { ParentStorage, Store } from "../widget/frame/store";

/** One localStorage shared by two tabs of the same site. */
function sharedStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (k: string) => items.get(k) ?? null,
    key: (i: number) => [...items.keys()][i] ?? null,
    removeItem: (k: string) => void items.delete(k),
    setItem: (k: string, v: string) => void items.set(k, v),
  };
}

describe("the widget's saved state across tabs", () => {
  it("keeps the newer token another tab stored when this tab saves its progress", () => {
    const storage = sharedStorage();
    const tabA = new Store("w_1", storage);
    tabA.update({ token: "vt_a", conversation: "c_1", seq: 3 });
    // Tab B opens the page: it resumes with vt_a and the server rotates it to vt_b.
    const tabB = new Store("w_1", storage);
    expect(tabB.value.token).toBe("vt_a");
    tabB.update({ token: "vt_b" });
    // Tab A, still holding vt_a in memory, records a new message seen.
    tabA.update({ seq: 4, read: 4 });
    const reloaded = new Store("w_1", storage);
    expect(reloaded.value).toEqual({ token: "vt_b", conversation: "c_1", seq: 4, read: 4 });
    expect(tabA.value.token).toBe("vt_b");
    // A token this tab sets itself (a fresh session) is stored as given.
    tabA.update({ token: "vt_c" });
    expect(new Store("w_1", storage).value.token).toBe("vt_c");
  });

  it("lives in memory when storage is unavailable", () => {
    const store = new Store("w_1", null);
    store.update({ token: "vt_a", seq: 2 });
    expect(store.value).toMatchObject({ token: "vt_a", seq: 2 });
    store.update({ read: 2 });
    expect(store.value).toMatchObject({ token: "vt_a", seq: 2, read: 2 });
  });

  it("uses the loader's copy when the frame has no storage, and follows other tabs through it", () => {
    const saves: string[] = [];
    const host = new ParentStorage('{"token":"vt_a","conversation":"c_1","seq":3,"read":3}', (v) => saves.push(v));
    const store = new Store("w_1", host);
    expect(store.value).toEqual({ token: "vt_a", conversation: "c_1", seq: 3, read: 3 });
    store.update({ seq: 4 });
    expect(JSON.parse(saves.at(-1)!)).toMatchObject({ token: "vt_a", seq: 4 });
    // Another tab rotated the token: the loader passed it on, and it wins as with localStorage.
    host.replace('{"token":"vt_b","conversation":"c_1","seq":4,"read":4}');
    store.update({ read: 4 });
    expect(store.value.token).toBe("vt_b");
    store.reload();
    expect(store.value.token).toBe("vt_b");
  });
});
