/**
 * Safe rendering of untrusted message text.
 *
 * Text only ever becomes DOM text nodes (never HTML). Substrings that parse as http, https or
 * mailto URLs become <a> elements built with DOM APIs; every other scheme (javascript:, data:,
 * vbscript:, …) is left as plain text because it is never matched in the first place. Links
 * whose host could be a look-alike (punycode, mixed scripts, non-ASCII, embedded credentials,
 * bidirectional control characters) get a visible warning marker next to them.
 */

export const LINK_REL = "noopener noreferrer nofollow ugc";
export const WARNING_CLASS = "link-warning";

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "link"; text: string; href: string; warn: boolean };

// A candidate starts with one of the allowed schemes at a word boundary and runs to whitespace
// or a character that cannot be part of a URL written in prose.
const CANDIDATE = /\b(?:https?:\/\/|mailto:)[^\s<>"'`\u0000-\u001f\u007f]+/giu;
const TRAILING = /[.,;:!?'"\u2019\u201d*_~]+$/u;
const BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const ALLOWED_PROTOCOLS: ReadonlySet<string> = new Set(["http:", "https:", "mailto:"]);

const SCRIPTS = [
  "Latin",
  "Cyrillic",
  "Greek",
  "Armenian",
  "Georgian",
  "Hebrew",
  "Arabic",
  "Devanagari",
  "Thai",
  "Han",
  "Hiragana",
  "Katakana",
  "Hangul",
  "Cherokee",
] as const;
const SCRIPT_RES = SCRIPTS.map((name) => [name, new RegExp(`\\p{Script=${name}}`, "u")] as const);
const LETTER = /\p{L}/u;

/** The set of writing systems whose letters appear in `text` ("Other" for unlisted ones). */
export function scriptsOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const ch of text) {
    if (!LETTER.test(ch)) continue;
    const hit = SCRIPT_RES.find(([, re]) => re.test(ch));
    found.add(hit ? hit[0] : "Other");
  }
  return found;
}

/**
 * True when a host name deserves a warning: any punycode label (xn--), any non-ASCII character,
 * or letters from more than one script (e.g. Latin with Cyrillic: "pаypal.com").
 */
export function isSuspiciousHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower.split(".").some((label) => label.startsWith("xn--"))) return true;
  if (scriptsOf(host).size > 1) return true;
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/u.test(host);
}

/** Trims punctuation that ends a sentence rather than the URL, keeping balanced brackets. */
function trimCandidate(raw: string): string {
  let s = raw;
  for (;;) {
    const before = s;
    s = s.replace(TRAILING, "");
    for (const [open, close] of [
      ["(", ")"],
      ["[", "]"],
      ["{", "}"],
    ] as const) {
      while (s.endsWith(close) && count(s, close) > count(s, open)) s = s.slice(0, -1);
    }
    if (s === before) return s;
  }
}

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

/** Checks a candidate; returns the normalised href and whether to warn, or null to keep it as text. */
function checkUrl(text: string): { href: string; warn: boolean } | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return null;
  let warn = BIDI_CONTROLS.test(text);
  if (url.protocol === "mailto:") {
    const address = decodeSafe(url.pathname).split("?")[0] ?? "";
    const at = address.lastIndexOf("@");
    if (at < 1 || at === address.length - 1) return null;
    warn ||= isSuspiciousHost(address.slice(at + 1));
  } else {
    if (url.hostname === "") return null;
    // The URL parser converts a Unicode host to punycode; the original text shows what the
    // reader sees, so both are checked.
    const shownHost = hostAsWritten(text);
    warn ||= isSuspiciousHost(url.hostname) || isSuspiciousHost(shownHost);
    // "https://bank.example@evil.example/" reads like bank.example but goes to evil.example.
    warn ||= url.username !== "" || url.password !== "";
  }
  return { href: url.href, warn };
}

function hostAsWritten(text: string): string {
  const afterScheme = text.replace(/^[a-z]+:\/\//iu, "");
  const authority = afterScheme.split(/[/?#\\]/u)[0] ?? "";
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  return host.replace(/:\d*$/u, "");
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Splits text into plain-text and link segments. Pure; used by `renderText` and by tests. */
export function segment(text: string): Segment[] {
  const out: Segment[] = [];
  let plain = "";
  let last = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const start = match.index;
    const candidate = trimCandidate(match[0]);
    const checked = candidate.length > 0 ? checkUrl(candidate) : null;
    if (checked === null) continue;
    plain += text.slice(last, start);
    if (plain) out.push({ kind: "text", text: plain });
    plain = "";
    out.push({ kind: "link", text: candidate, href: checked.href, warn: checked.warn });
    last = start + candidate.length;
  }
  plain += text.slice(last);
  if (plain) out.push({ kind: "text", text: plain });
  return out;
}

export interface RenderTextOptions {
  /** Visible text of the warning marker next to a suspicious link (from the translation table). */
  warning: string;
}

/**
 * Replaces the children of `target` with `text` rendered safely: text nodes, and <a> elements
 * for http/https/mailto links (new tab, rel="noopener noreferrer nofollow ugc", the full target
 * in `title`). Usable from a Preact ref callback or from plain DOM code.
 */
export function renderText(target: Element, text: string, options: RenderTextOptions): void {
  const doc = target.ownerDocument;
  const fragment = doc.createDocumentFragment();
  for (const seg of segment(text)) {
    if (seg.kind === "text") {
      fragment.appendChild(doc.createTextNode(seg.text));
      continue;
    }
    const a = doc.createElement("a");
    a.href = seg.href;
    a.rel = LINK_REL;
    a.target = "_blank";
    a.title = seg.href;
    a.textContent = seg.text;
    fragment.appendChild(a);
    if (seg.warn) {
      const marker = doc.createElement("span");
      marker.className = WARNING_CLASS;
      marker.textContent = options.warning;
      marker.title = seg.href;
      fragment.appendChild(marker);
    }
  }
  target.replaceChildren(fragment);
}

// What the server refuses in typed text (src/bastion/domain/plaintext.py): control characters
// (a line break and a tab aside; DEL and the C1 range too) and the bidirectional embeddings,
// overrides and isolates.
// eslint-disable-next-line no-control-regex
const REFUSED_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `text` without the invisible characters the server refuses, so a paste that carries them
 * (direction isolates copied from a phone's contacts, a stray control character) still goes.
 * They have no glyph of their own: what the reader sees is the text that is sent, in the
 * order it is stored (the overrides that would show it in another order are what is dropped).
 * With `multiline`, line breaks and tabs stay (messages); without, they become spaces (names).
 */
export function withoutControls(text: string, multiline = true): string {
  const lines = text.replace(/\r\n?/gu, "\n");
  return (multiline ? lines : lines.replace(/[\n\t]/gu, " ")).replace(REFUSED_CONTROLS, "");
}

/**
 * A server message shown as a sentence: a capital first letter and a full stop. The
 * server writes messages for people but in lower case ("use at least 12 characters"), as
 * parts of longer texts; the console shows them on their own.
 */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capital = text.charAt(0).toLocaleUpperCase() + text.slice(1);
  return /[.!?…)]$/u.test(capital) ? capital : `${capital}.`;
}
