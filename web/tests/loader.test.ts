// @vitest-environment happy-dom
// @vitest-environment-options {"settings": {"disableJavaScriptFileLoading": true, "handleDisabledFileLoadingAsSuccess": true, "enableIframePageLoading": true, "fetch": {"virtualServers": [{"url": "https://chat.example/", "directory": "tests/fixtures/chat.example"}]}}}
import { beforeAll, describe, expect, it, vi } from "vitest";

const BASE = "https://chat.example";
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

  it("adds the launcher and a hidden frame pointing at Bastion", () => {
    expect(button.getAttribute("aria-label")).toBe("Chat");
    expect(button.style.position).toBe("fixed");
    expect(frame.getAttribute("src")).toBe(`${BASE}/widget/frame?w=w_123`);
    expect(frame.title).toBe("Chat");
    expect(frame.referrerPolicy).toBe("origin");
    expect(frame.style.display).toBe("none");
    // Styling goes through the CSSOM only: no <style> element is injected.
    expect(document.querySelector("style")).toBeNull();
  });

  it("sends the host page to the frame on load, to Bastion's exact origin", () => {
    frame.dispatchEvent(new Event("load"));
    const [data, target] = posted.at(-1)!;
    expect(target).toBe(BASE);
    expect(data).toMatchObject({ type: "bastion:init", page: { url: location.href }, visible: false });
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

  it("takes a theme colour, but only a colour", () => {
    fromFrame({ type: "bastion:theme", color: "#112233", label: "Pokalbis" });
    expect(button.style.background).toMatch(/#112233|rgb\(17, 34, 51\)/u);
    expect(button.getAttribute("aria-label")).toBe("Pokalbis");
    fromFrame({ type: "bastion:theme", color: "url(https://evil.example/x.png)" });
    expect(button.style.background).toMatch(/#112233|rgb\(17, 34, 51\)/u);
  });

  it("reports history navigation", () => {
    history.pushState({}, "", "/pricing");
    expect(posted.at(-1)).toEqual([
      { type: "bastion:page", page: { url: location.href, title: document.title, referrer: document.referrer } },
      BASE,
    ]);
  });
});
