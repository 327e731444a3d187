// @vitest-environment happy-dom
// @vitest-environment-options {"settings": {"disableJavaScriptFileLoading": true, "handleDisabledFileLoadingAsSuccess": true, "enableIframePageLoading": true, "fetch": {"virtualServers": [{"url": "https://chat.example/", "directory": "tests/fixtures/chat.example"}]}}}
import { beforeAll, describe, expect, it, vi } from "vitest";

const BASE = "https://chat.example";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzQyIn0.c2ln";
let button: HTMLButtonElement;
let frame: HTMLIFrameElement;
let posted: [unknown, string][];

function fromFrame(data: unknown, origin = BASE, source: unknown = frame.contentWindow): void {
  window.dispatchEvent(new MessageEvent("message", { data, origin, source: source as Window }));
}

describe("widget loader", () => {
  beforeAll(async () => {
    const script = document.createElement("script");
    script.setAttribute("data-bastion-widget", "w_123");
    script.setAttribute("data-user-id", "u_42");
    script.setAttribute("data-user-hash", "1767225600.abc123");
    script.setAttribute("data-identity-jwt", JWT);
    script.setAttribute("src", `${BASE}/widget.js`);
    document.head.appendChild(script);
    await import("../widget/loader");
    button = document.getElementById("bastion-launcher") as HTMLButtonElement;
    frame = document.getElementById("bastion-frame") as HTMLIFrameElement;
    posted = [];
    // The frame's page is not loaded in this test: stand in for its window.
    const fakeWindow = { postMessage: vi.fn((data: unknown, target: string) => posted.push([data, target])) };
    Object.defineProperty(frame, "contentWindow", { get: () => fakeWindow });
  });

  it("adds a hidden frame pointing at Bastion, and a launcher that is hidden too", () => {
    expect(button.getAttribute("aria-label")).toBe("Chat");
    expect(button.style.position).toBe("fixed");
    expect(button.style.display).toBe("none");
    expect(frame.getAttribute("src")).toBe(`${BASE}/widget/frame?w=w_123`);
    expect(frame.title).toBe("Chat");
    expect(frame.referrerPolicy).toBe("origin");
    expect(frame.style.display).toBe("none");
    // Styling goes through the CSSOM only: no <style> element is injected.
    expect(document.querySelector("style")).toBeNull();
  });

  it("never puts the identity statement in a URL", () => {
    const src = frame.getAttribute("src") ?? "";
    expect(src).not.toContain("u_42");
    expect(src).not.toContain(JWT);
    expect(src).not.toContain("hash");
  });

  it("posts nothing to a frame that has not said it is ready, and shows no launcher", () => {
    // A frame the browser blocked fires load like any other; it never says ready.
    frame.dispatchEvent(new Event("load"));
    history.pushState({}, "", "/before-ready");
    fromFrame({ type: "bastion:unread", count: 2 });
    expect(posted).toEqual([]);
    expect(button.style.display).toBe("none");
  });

  it("ignores a ready from another origin or another window", () => {
    fromFrame({ type: "bastion:ready" }, "https://evil.example");
    fromFrame({ type: "bastion:ready" }, "null");
    fromFrame({ type: "bastion:ready" }, BASE, window);
    expect(button.style.display).toBe("none");
    expect(posted).toEqual([]);
  });

  it("shows the launcher on the frame's ready and sends the init to Bastion's exact origin", () => {
    fromFrame({ type: "bastion:ready", color: "#223344", label: "Pokalbis" });
    expect(button.style.display).toBe("flex");
    expect(button.style.background).toMatch(/#223344|rgb\(34, 51, 68\)/u);
    expect(button.getAttribute("aria-label")).toBe("Pokalbis");
    expect(posted).toHaveLength(1);
    const [data, target] = posted[0]!;
    expect(target).toBe(BASE);
    expect(data).toEqual({
      type: "bastion:init",
      page: { url: location.href, title: document.title, referrer: document.referrer },
      visible: false,
      identity: { user_id: "u_42", user_hash: "1767225600.abc123", identity_jwt: JWT },
      saved: null,
    });
  });

  it("answers every ready (a reloaded frame) with a fresh init", () => {
    fromFrame({ type: "bastion:ready" });
    expect(posted).toHaveLength(2);
    expect(posted[1]![0]).toMatchObject({ type: "bastion:init", identity: { identity_jwt: JWT } });
  });

  it("toggles the frame and tells it whether it is visible", () => {
    button.click();
    expect(frame.style.display).toBe("block");
    expect(button.getAttribute("aria-expanded")).toBe("true");
    expect(posted.at(-1)).toEqual([{ type: "bastion:visible", visible: true }, BASE]);
    button.click();
    expect(frame.style.display).toBe("none");
    expect(posted.at(-1)).toEqual([{ type: "bastion:visible", visible: false }, BASE]);
  });

  it("ignores messages from another origin or another window", () => {
    fromFrame({ type: "bastion:open" }, "https://evil.example");
    fromFrame({ type: "bastion:open" }, BASE, window);
    expect(frame.style.display).toBe("none");
    fromFrame({ type: "bastion:open" });
    expect(frame.style.display).toBe("block");
    fromFrame({ type: "bastion:close" });
    expect(frame.style.display).toBe("none");
  });

  it("shows the unread badge", () => {
    const badge = button.querySelector("span")!;
    fromFrame({ type: "bastion:unread", count: 3 });
    expect(badge.textContent).toBe("3");
    expect(badge.style.display).toBe("block");
    fromFrame({ type: "bastion:unread", count: 0 });
    expect(badge.style.display).toBe("none");
  });

  it("names the count in the launcher's label, which is what a screen reader says", () => {
    fromFrame({ type: "bastion:unread", count: 2, label: "Chat (2 unread)" });
    expect(button.getAttribute("aria-label")).toBe("Chat (2 unread)");
    fromFrame({ type: "bastion:unread", count: 0, label: "Chat" });
    expect(button.getAttribute("aria-label")).toBe("Chat");
    // Only a short string: nothing else becomes the button's name.
    fromFrame({ type: "bastion:unread", count: 1, label: "x".repeat(200) });
    fromFrame({ type: "bastion:unread", count: 1, label: { toString: () => "Evil" } });
    expect(button.getAttribute("aria-label")).toBe("Chat");
  });

  it("takes a theme colour, but only a colour", () => {
    fromFrame({ type: "bastion:theme", color: "#112233", label: "Pokalbis" });
    expect(button.style.background).toMatch(/#112233|rgb\(17, 34, 51\)/u);
    expect(button.getAttribute("aria-label")).toBe("Pokalbis");
    fromFrame({ type: "bastion:theme", color: "url(https://evil.example/x.png)" });
    fromFrame({ type: "bastion:ready", color: "url(https://evil.example/y.png)" });
    expect(button.style.background).toMatch(/#112233|rgb\(17, 34, 51\)/u);
  });

  it("draws the launcher's icon in a colour that shows on the theme colour", () => {
    fromFrame({ type: "bastion:theme", color: "#2f6fed" });
    expect(button.style.color).toMatch(/#ffffff|rgb\(255, 255, 255\)/u);
    // QA: a white widget colour left a white icon on a white button.
    fromFrame({ type: "bastion:theme", color: "#ffffff" });
    expect(button.style.color).toMatch(/#1d2129|rgb\(29, 33, 41\)/u);
  });

  it("keeps a storage-less frame's state in the page's storage, its own key only", () => {
    const key = "bastion:v1:w_123";
    localStorage.setItem(key, '{"token":"vt_1"}');
    localStorage.setItem("shop:cart", "3 items");
    // A frame with storage of its own: nothing is handed over or kept.
    fromFrame({ type: "bastion:ready" });
    expect(posted.at(-1)![0]).toMatchObject({ type: "bastion:init", saved: null });
    fromFrame({ type: "bastion:save", value: '{"token":"vt_x"}' });
    expect(localStorage.getItem(key)).toBe('{"token":"vt_1"}');
    // One without: the saved state comes with the init, and what it saves back is kept.
    fromFrame({ type: "bastion:ready", storage: "parent" });
    expect(posted.at(-1)![0]).toMatchObject({ type: "bastion:init", saved: '{"token":"vt_1"}' });
    fromFrame({ type: "bastion:save", value: '{"token":"vt_2"}' });
    expect(localStorage.getItem(key)).toBe('{"token":"vt_2"}');
    // Not from another origin, nothing too long, and no other key is ever touched.
    fromFrame({ type: "bastion:save", value: '{"token":"evil"}' }, "https://evil.example");
    fromFrame({ type: "bastion:save", value: "x".repeat(5000) });
    expect(localStorage.getItem(key)).toBe('{"token":"vt_2"}');
    expect(localStorage.getItem("shop:cart")).toBe("3 items");
    // Another tab of the site saved a newer state: the frame hears of it.
    window.dispatchEvent(new StorageEvent("storage", { key, newValue: '{"token":"vt_3"}' }));
    expect(posted.at(-1)).toEqual([{ type: "bastion:saved", value: '{"token":"vt_3"}' }, BASE]);
    window.dispatchEvent(new StorageEvent("storage", { key: "shop:cart", newValue: "4 items" }));
    expect(posted.at(-1)![0]).toMatchObject({ type: "bastion:saved", value: '{"token":"vt_3"}' });
  });

  it("reports history navigation", () => {
    history.pushState({}, "", "/pricing");
    expect(posted.at(-1)).toEqual([
      { type: "bastion:page", page: { url: location.href, title: document.title, referrer: document.referrer } },
      BASE,
    ]);
  });
});
