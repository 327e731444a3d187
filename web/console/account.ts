/**
 * Pure helpers of the "Account & security" view: secret grouping, session list formatting,
 * relative times and error wording. No DOM, so tests can drive them directly.
 */
import { format } from "../shared/i18n";
import { ApiError } from "../shared/http";
import type { StaffSessionInfo } from "../shared/protocol";
import { t } from "./strings";

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP": easier to copy by hand; spaces carry no data. */
export function groupSecret(secret: string, size = 4): string {
  const clean = secret.replace(/\s+/gu, "");
  const groups: string[] = [];
  for (let i = 0; i < clean.length; i += size) groups.push(clean.slice(i, i + size));
  return groups.join(" ");
}

/** What the person typed as a TOTP code, without the spaces or dashes apps show inside it. */
export function normaliseCode(code: string): string {
  return code.replace(/[\s-]+/gu, "");
}

/** Only a QR code image as an SVG data URL is shown (the console's CSP allows `data:` images). */
export function safeQrSrc(uri: string): string | null {
  return /^data:image\/svg\+xml[;,]/iu.test(uri) ? uri : null;
}

/** Only an `otpauth://totp/` link is offered; anything else is not a link at all. */
export function safeOtpauthUri(uri: string): string | null {
  return /^otpauth:\/\/totp\//iu.test(uri) ? uri : null;
}

const BROWSERS: readonly [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/u, "Edge"],
  [/\b(?:OPR|Opera)\/(\d+)/u, "Opera"],
  [/\bSamsungBrowser\/(\d+)/u, "Samsung Internet"],
  [/\b(?:Firefox|FxiOS)\/(\d+)/u, "Firefox"],
  [/\b(?:HeadlessChrome|Chrome|Chromium|CriOS)\/(\d+)/u, "Chrome"],
  [/\bVersion\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//u, "Safari"],
];

const SYSTEMS: readonly [RegExp, string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/u, "iOS"],
  [/\bAndroid\b/u, "Android"],
  [/\bCrOS\b/u, "ChromeOS"],
  [/\bWindows\b/u, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/u, "macOS"],
  [/\bLinux\b/u, "Linux"],
];

/**
 * A short device label from a User-Agent header ("Firefox 128 on Windows"). Unknown agents are
 * cut to a readable length; the full header stays available as a tooltip.
 */
export function shortUserAgent(ua: string | null | undefined): string {
  const raw = (ua ?? "").trim();
  if (!raw) return t.sessionUnknownDevice;
  let browser: string | null = null;
  for (const [re, name] of BROWSERS) {
    const m = re.exec(raw);
    if (m) {
      browser = m[1] ? `${name} ${m[1]}` : name;
      break;
    }
  }
  const os = SYSTEMS.find(([re]) => re.test(raw))?.[1] ?? null;
  if (browser && os) return format(t.sessionDevice, { browser, os });
  if (browser) return browser;
  return raw.length > 48 ? `${raw.slice(0, 47)}…` : raw;
}

/** "just now", "5 min ago", "3 h ago", then the local date and time. */
export function relativeTime(iso: string, now: number, locale?: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return t.justNow;
  if (seconds < 3600) return format(t.minutesAgo, { count: Math.floor(seconds / 60) });
  if (seconds < 86_400) return format(t.hoursAgo, { count: Math.floor(seconds / 3600) });
  return localTime(iso, locale);
}

/** Date and time in the browser's locale and time zone. */
export function localTime(iso: string, locale?: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(at);
}

export interface SessionRow {
  id: string;
  device: string;
  /** The full User-Agent header, for a tooltip. */
  userAgent: string;
  ip: string;
  lastSeen: string;
  lastSeenIso: string;
  signedIn: string;
  current: boolean;
}

/** The current session first, then the most recently active. */
export function sessionRows(sessions: readonly StaffSessionInfo[], now: number, locale?: string): SessionRow[] {
  return [...sessions]
    .sort((a, b) => {
      if (a.current !== b.current) return a.current ? -1 : 1;
      return (Date.parse(b.last_seen_at) || 0) - (Date.parse(a.last_seen_at) || 0);
    })
    .map((s) => ({
      id: s.id,
      device: shortUserAgent(s.user_agent),
      userAgent: s.user_agent ?? "",
      ip: s.ip || t.sessionUnknownIp,
      lastSeen: s.current ? t.justNow : relativeTime(s.last_seen_at, now, locale),
      lastSeenIso: s.last_seen_at,
      signedIn: localTime(s.created_at, locale),
      current: s.current,
    }));
}

/** The signed-in session itself is gone (expired or ended elsewhere): back to the login form. */
export function isSessionGone(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401 && err.code === "not_authenticated";
}

/**
 * The server's message (written for people; shown with a capital first letter), or `fallback`
 * for network failures and answers without a message.
 */
export function apiErrorText(err: unknown, fallback: string = t.errGeneric): string {
  if (!(err instanceof ApiError) || err.status === 0) return fallback;
  const message = err.message.trim();
  if (!message || /^HTTP \d+$/u.test(message)) return fallback;
  return message.charAt(0).toLocaleUpperCase() + message.slice(1);
}

/** Client-side check of the password form; the strength rules are the server's. */
export function passwordFormProblem(next: string, repeat: string): string | null {
  return next !== repeat ? t.pwMismatch : null;
}

/** The server refused the password typed to confirm a change (not a lock or another error). */
export function isWrongPassword(err: unknown): boolean {
  return err instanceof ApiError && err.code === "invalid_credentials";
}

/** Which password field a refused change points at, for `aria-invalid`. */
export function passwordErrorField(err: unknown): "current" | "new" | null {
  if (!(err instanceof ApiError)) return null;
  const field = err.field ?? "";
  if (err.code === "invalid_credentials" || field.endsWith("current_password")) return "current";
  if (err.code === "weak_password" || field.endsWith("new_password")) return "new";
  return null;
}
