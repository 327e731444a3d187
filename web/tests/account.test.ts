import { describe, expect, it } from "vitest";
import {
  apiErrorText,
  groupSecret,
  isSessionGone,
  isWrongPassword,
  normaliseCode,
  passwordErrorField,
  passwordFormProblem,
  relativeTime,
  safeOtpauthUri,
  safeQrSrc,
  sessionRows,
  shortUserAgent,
} from "../console/account";
import { t } from "../console/strings";
import { ApiError } from "../shared/http";
import type { StaffSessionInfo } from "../shared/protocol";

const CHROME_LINUX =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const HEADLESS =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.85 Safari/537.36";
const EDGE_WIN =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70";
const FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const CHROME_ANDROID =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

describe("groupSecret", () => {
  it("groups a base32 secret by four without changing its characters", () => {
    const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX";
    const grouped = groupSecret(secret);
    expect(grouped).toBe("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PX");
    expect(grouped.replace(/ /gu, "")).toBe(secret);
  });

  it("handles short, empty and already spaced secrets", () => {
    expect(groupSecret("")).toBe("");
    expect(groupSecret("ABC")).toBe("ABC");
    expect(groupSecret("ABCD EFGH\nIJ")).toBe("ABCD EFGH IJ");
  });
});

describe("codes and links", () => {
  it("drops spaces and dashes from a typed code", () => {
    expect(normaliseCode(" 123 456 ")).toBe("123456");
    expect(normaliseCode("123-456")).toBe("123456");
  });

  it("only shows an SVG data URL as the QR code", () => {
    expect(safeQrSrc("data:image/svg+xml;base64,PHN2Zz4=")).toBe("data:image/svg+xml;base64,PHN2Zz4=");
    expect(safeQrSrc("data:image/svg+xml,%3Csvg%3E")).not.toBeNull();
    expect(safeQrSrc("javascript:alert(1)")).toBeNull();
    expect(safeQrSrc("https://evil.example/qr.svg")).toBeNull();
    expect(safeQrSrc("data:text/html;base64,PHNjcmlwdD4=")).toBeNull();
  });

  it("only links otpauth://totp/ URIs", () => {
    expect(safeOtpauthUri("otpauth://totp/Bastion:agent%40example.com?secret=X&issuer=Bastion")).not.toBeNull();
    expect(safeOtpauthUri("javascript:alert(1)")).toBeNull();
    expect(safeOtpauthUri("otpauth://hotp/x")).toBeNull();
  });
});

describe("shortUserAgent", () => {
  it("names common browsers and systems", () => {
    expect(shortUserAgent(CHROME_LINUX)).toBe("Chrome 131 on Linux");
    expect(shortUserAgent(HEADLESS)).toBe("Chrome 131 on Linux");
    expect(shortUserAgent(EDGE_WIN)).toBe("Edge 131 on Windows");
    expect(shortUserAgent(FIREFOX_MAC)).toBe("Firefox 133 on macOS");
    expect(shortUserAgent(SAFARI_IPHONE)).toBe("Safari 17 on iOS");
    expect(shortUserAgent(CHROME_ANDROID)).toBe("Chrome 131 on Android");
  });

  it("falls back to the (shortened) header or a label", () => {
    expect(shortUserAgent(null)).toBe(t.sessionUnknownDevice);
    expect(shortUserAgent("  ")).toBe(t.sessionUnknownDevice);
    expect(shortUserAgent("curl/8.5.0")).toBe("curl/8.5.0");
    const long = `python-httpx/0.27 ${"x".repeat(100)}`;
    const short = shortUserAgent(long);
    expect(short.length).toBe(48);
    expect(short.endsWith("…")).toBe(true);
  });
});

describe("relativeTime", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");

  it("says just now, minutes and hours, then a date", () => {
    expect(relativeTime("2026-03-01T11:59:30Z", now)).toBe(t.justNow);
    expect(relativeTime("2026-03-01T12:00:05Z", now)).toBe(t.justNow); // a clock slightly ahead
    expect(relativeTime("2026-03-01T11:55:00Z", now)).toBe("5 min ago");
    expect(relativeTime("2026-03-01T09:00:00Z", now)).toBe("3 h ago");
    const old = relativeTime("2026-02-20T08:30:00Z", now, "en-GB");
    expect(old).toMatch(/2026/u);
    expect(relativeTime("not a date", now)).toBe("");
  });
});

describe("sessionRows", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  const session = (id: string, lastSeen: string, extra: Partial<StaffSessionInfo> = {}): StaffSessionInfo => ({
    id,
    created_at: "2026-03-01T08:00:00Z",
    last_seen_at: lastSeen,
    ip: "203.0.113.7",
    user_agent: CHROME_LINUX,
    current: false,
    ...extra,
  });

  it("puts the current session first, then the most recently active", () => {
    const rows = sessionRows(
      [
        session("s_old", "2026-03-01T09:00:00Z"),
        session("s_me", "2026-03-01T11:59:00Z", { current: true }),
        session("s_new", "2026-03-01T11:40:00Z", { user_agent: FIREFOX_MAC, ip: null }),
      ],
      now,
    );
    expect(rows.map((r) => r.id)).toEqual(["s_me", "s_new", "s_old"]);
    expect(rows[0]).toMatchObject({ current: true, lastSeen: t.justNow, device: "Chrome 131 on Linux" });
    expect(rows[1]).toMatchObject({ device: "Firefox 133 on macOS", ip: t.sessionUnknownIp, lastSeen: "20 min ago" });
    expect(rows[1]?.userAgent).toBe(FIREFOX_MAC);
    expect(rows[2]).toMatchObject({ ip: "203.0.113.7", lastSeen: "3 h ago", lastSeenIso: "2026-03-01T09:00:00Z" });
  });

  it("does not change its input", () => {
    const input = [session("a", "2026-03-01T09:00:00Z"), session("b", "2026-03-01T10:00:00Z")];
    sessionRows(input, now);
    expect(input.map((s) => s.id)).toEqual(["a", "b"]);
  });
});

describe("errors", () => {
  it("shows the server's message, or a generic one", () => {
    expect(apiErrorText(new ApiError(422, { code: "weak_password", message: "Too common." }))).toBe("Too common.");
    expect(apiErrorText(new ApiError(0, { message: "Failed to fetch" }))).toBe(t.errGeneric);
    expect(apiErrorText(new ApiError(502, {}))).toBe(t.errGeneric);
    expect(apiErrorText(new Error("boom"))).toBe(t.errGeneric);
    expect(apiErrorText(new ApiError(401, { code: "invalid_otp", message: "that code is not valid" }))).toBe(
      "That code is not valid",
    );
    expect(apiErrorText(new ApiError(0, {}), t.loginFailed)).toBe(t.loginFailed);
  });

  it("tells an ended session from a wrong password", () => {
    expect(isSessionGone(new ApiError(401, { code: "not_authenticated", message: "please log in" }))).toBe(true);
    expect(isSessionGone(new ApiError(401, { code: "invalid_credentials", message: "wrong" }))).toBe(false);
    expect(isSessionGone(new ApiError(403, { code: "forbidden", message: "csrf" }))).toBe(false);
  });

  it("points refused password changes at a field", () => {
    expect(passwordErrorField(new ApiError(401, { code: "invalid_credentials", message: "x" }))).toBe("current");
    expect(passwordErrorField(new ApiError(422, { code: "weak_password", message: "x" }))).toBe("new");
    expect(passwordErrorField(new ApiError(422, { code: "invalid_request", message: "x", field: "body.new_password" }))).toBe(
      "new",
    );
    expect(passwordErrorField(new ApiError(500, {}))).toBeNull();
  });

  it("tells a wrong confirming password from a lock or another refusal", () => {
    expect(isWrongPassword(new ApiError(401, { code: "invalid_credentials", message: "wrong password" }))).toBe(true);
    expect(isWrongPassword(new ApiError(429, { code: "too_many_attempts", message: "x" }))).toBe(false);
    expect(isWrongPassword(new ApiError(401, { code: "not_authenticated", message: "x" }))).toBe(false);
    expect(isWrongPassword(new Error("offline"))).toBe(false);
  });

  it("checks the repeated password", () => {
    expect(passwordFormProblem("a long new password", "a long new password")).toBeNull();
    expect(passwordFormProblem("a long new password", "a long new passw0rd")).toBe(t.pwMismatch);
  });
});
