import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  asSentence,
  isSuspiciousHost,
  LINK_REL,
  renderText,
  segment,
  WARNING_CLASS,
  withoutControls,
} from "../shared/text";

const WARNING = "CHECK-LINK";
const ALLOWED_ATTRS = new Set(["href", "rel", "target", "title", "class"]);

function render(text: string): HTMLElement {
  const div = document.createElement("div");
  document.body.appendChild(div);
  renderText(div, text, { warning: WARNING });
  return div;
}

/** Every element under `root` must be an <a> to http/https/mailto or our warning <span>. */
function assertSafe(root: HTMLElement): void {
  for (const node of root.querySelectorAll("*")) {
    const tag = node.tagName.toLowerCase();
    for (const attr of node.getAttributeNames()) {
      expect(ALLOWED_ATTRS.has(attr), `attribute ${attr} on <${tag}>`).toBe(true);
    }
    if (tag === "a") {
      const href = node.getAttribute("href") ?? "";
      expect(new URL(href).protocol).toMatch(/^(https?|mailto):$/u);
      expect(node.getAttribute("rel")).toBe(LINK_REL);
      expect(node.getAttribute("target")).toBe("_blank");
      expect(node.getAttribute("title")).toBe(href);
      expect(node.children.length).toBe(0);
    } else {
      expect(tag).toBe("span");
      expect(node.className).toBe(WARNING_CLASS);
      expect(node.textContent).toBe(WARNING);
    }
  }
}

/** The visible text, without warning markers, is exactly the input. */
function visibleText(root: HTMLElement): string {
  const clone = root.cloneNode(true) as HTMLElement;
  for (const w of clone.querySelectorAll(`.${WARNING_CLASS}`)) w.remove();
  return clone.textContent ?? "";
}

const XSS_VECTORS = [
  "<img src=x onerror=alert(1)>",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  " javascript:alert(document.cookie)",
  "java\tscript:alert(1)",
  "java\nscript:alert(1)",
  "\u0000javascript:alert(1)",
  "jav&#x09;ascript:alert(1)",
  "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)",
  "javascript&colon;alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
  "DATA:text/html,<svg onload=alert(1)>",
  "vbscript:msgbox(1)",
  "file:///etc/passwd",
  "ftp://example.com/",
  '"><svg onload=alert(1)>',
  "'><script>alert(1)</script>",
  "<script>alert(1)</script>",
  "&lt;script&gt;alert(1)&lt;/script&gt;",
  "&amp;lt;img src=x onerror=alert(1)&amp;gt;",
  '<a href="javascript:alert(1)">click</a>',
  "<iframe src=\"javascript:alert(1)\"></iframe>",
  "<style>@import 'https://evil.example/x.css';</style>",
  "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
  "[click me](javascript:alert(1))",
  "http://example.com/\"><script>alert(1)</script>",
  "https://example.com/?q=<img src=x onerror=alert(1)>",
  "https://example.com/\" onmouseover=\"alert(1)",
  "https://example.com/'onmouseover='alert(1)",
  "http://javascript:alert(1)",
  "https://evil.example/#javascript:alert(1)",
  "javascript:http://example.com/",
  "mailto:x@example.com?body=<script>alert(1)</script>",
  "mailto:javascript:alert(1)",
  "\u202ehttps://example.com/gpj.exe",
  "<svg><script>alert(1)</script></svg>",
  "{{constructor.constructor('alert(1)')()}}",
  "${alert(1)}",
];

describe("renderText with XSS vectors", () => {
  beforeEach(() => {
    document.body.replaceChildren();
  });

  it.each(XSS_VECTORS)("renders %j as text and safe links only", (vector) => {
    const alert = vi.fn();
    window.alert = alert;
    const root = render(vector);
    assertSafe(root);
    expect(visibleText(root)).toBe(vector);
    expect(root.querySelector("script, img, svg, iframe, style, math")).toBeNull();
    expect(alert).not.toHaveBeenCalled();
  });

  it("never links a non-http(s)/mailto scheme", () => {
    for (const v of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x", "ftp://x.example"]) {
      expect(segment(v)).toEqual([{ kind: "text", text: v }]);
    }
  });

  it("replaces earlier content", () => {
    const root = render("first");
    renderText(root, "second", { warning: WARNING });
    expect(root.textContent).toBe("second");
  });
});

describe("links", () => {
  it("builds an <a> with rel, target and the full target as title", () => {
    const root = render("See https://example.com/docs?a=1&b=2#top for more");
    const a = root.querySelector("a")!;
    expect(a.getAttribute("href")).toBe("https://example.com/docs?a=1&b=2#top");
    expect(a.getAttribute("rel")).toBe("noopener noreferrer nofollow ugc");
    expect(a.getAttribute("target")).toBe("_blank");
    expect(a.getAttribute("title")).toBe("https://example.com/docs?a=1&b=2#top");
    expect(a.textContent).toBe("https://example.com/docs?a=1&b=2#top");
    expect(root.querySelector(`.${WARNING_CLASS}`)).toBeNull();
    expect(root.textContent).toBe("See https://example.com/docs?a=1&b=2#top for more");
  });

  it("links http, https and mailto, case-insensitively", () => {
    const root = render("HTTP://EXAMPLE.COM/A and mailto:help@example.com and https://x.example");
    const hrefs = [...root.querySelectorAll("a")].map((a) => a.getAttribute("href"));
    expect(hrefs).toEqual(["http://example.com/A", "mailto:help@example.com", "https://x.example/"]);
    assertSafe(root);
  });

  it("leaves trailing punctuation out of the link and keeps balanced brackets", () => {
    expect(segment("Go to https://example.com/a.")[1]).toMatchObject({ text: "https://example.com/a" });
    expect(segment("(https://example.com/a)")[1]).toMatchObject({ text: "https://example.com/a" });
    expect(segment("https://en.wikipedia.org/wiki/Foo_(bar)!")[0]).toMatchObject({
      text: "https://en.wikipedia.org/wiki/Foo_(bar)",
    });
  });

  it("marks punycode hosts", () => {
    const root = render("login at https://xn--pple-43d.com/signin now");
    expect(root.querySelector("a")?.getAttribute("href")).toBe("https://xn--pple-43d.com/signin");
    const marker = root.querySelector(`.${WARNING_CLASS}`);
    expect(marker?.textContent).toBe(WARNING);
    expect(marker?.previousSibling).toBe(root.querySelector("a"));
  });

  it("marks mixed-script hosts (Latin with Cyrillic)", () => {
    // "pаypal" with a Cyrillic а (U+0430).
    const root = render("https://p\u0430ypal.com/login");
    const a = root.querySelector("a")!;
    expect(a.textContent).toBe("https://p\u0430ypal.com/login");
    expect(a.getAttribute("href")).toMatch(/^https:\/\/xn--/u);
    expect(a.getAttribute("title")).toBe(a.getAttribute("href"));
    expect(root.querySelector(`.${WARNING_CLASS}`)).not.toBeNull();
  });

  it("marks mailto addresses on look-alike domains and URLs with credentials", () => {
    expect(segment("mailto:help@ex\u0430mple.com")[0]).toMatchObject({ kind: "link", warn: true });
    expect(segment("https://bank.example@evil.example/")[0]).toMatchObject({ kind: "link", warn: true });
    expect(segment("https://example.com/")[0]).toMatchObject({ kind: "link", warn: false });
  });

  it("classifies hosts", () => {
    expect(isSuspiciousHost("example.com")).toBe(false);
    expect(isSuspiciousHost("xn--80ak6aa92e.com")).toBe(true);
    expect(isSuspiciousHost("\u0430pple.com")).toBe(true);
    expect(isSuspiciousHost("g\u043e\u043egle.com")).toBe(true);
    expect(isSuspiciousHost("sub.XN--P1AI")).toBe(true);
  });
});

describe("asSentence", () => {
  it("capitalises a server message and ends it with a full stop, once", () => {
    expect(asSentence("use at least 12 characters")).toBe("Use at least 12 characters.");
    expect(asSentence("at most 5 active chats at once; close one first")).toBe(
      "At most 5 active chats at once; close one first.",
    );
    expect(asSentence("That code is not valid.")).toBe("That code is not valid.");
    expect(asSentence("  ")).toBe("");
  });
});

describe("withoutControls", () => {
  it("drops what the server refuses and keeps what it takes", () => {
    // Bidirectional embeddings, overrides and isolates go; the direction marks stay.
    expect(withoutControls("a\u202ab\u202bc\u202cd\u202de\u202ef")).toBe("abcdef");
    expect(withoutControls("\u2066x\u2067y\u2068z\u2069")).toBe("xyz");
    expect(withoutControls("\u200e\u05e9\u05dc\u05d5\u05dd\u200f")).toBe("\u200e\u05e9\u05dc\u05d5\u05dd\u200f");
    // Control characters go; a line break and a tab stay in a message.
    expect(withoutControls("a\u0000b\u0007c\u001bd\u007fe")).toBe("abcde");
    // The C1 range too (U+0085 breaks lines, U+009B starts terminal escapes); U+00A0 stays.
    expect(withoutControls("a\u0085b\u009bc\u00a0d")).toBe("abc\u00a0d");
    expect(withoutControls("one\r\ntwo\rthree\tfour")).toBe("one\ntwo\nthree\tfour");
    // In a one-line field they become spaces.
    expect(withoutControls("Ona\nJonaitė\tx", false)).toBe("Ona Jonaitė x");
    expect(withoutControls("\u{1F469}\u200d\u{1F467} ok")).toBe("\u{1F469}\u200d\u{1F467} ok");
  });
});
