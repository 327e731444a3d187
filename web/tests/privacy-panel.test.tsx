import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConsoleApi } from "../console/api";
import { mayManagePrivacy, PrivacyPanel } from "../console/PrivacyPanel";
import { t } from "../console/strings";

interface Call {
  path: string;
  csrf: string | null;
  body: unknown;
}

let root: HTMLElement;
let calls: Call[];
let reply: (path: string) => Response;

function fakeFetch(input: string, init?: RequestInit): Promise<Response> {
  const headers = (init?.headers ?? {}) as Record<string, string>;
  calls.push({
    path: input,
    csrf: headers["X-CSRF-Token"] ?? null,
    body: init?.body ? JSON.parse(String(init.body)) : null,
  });
  return Promise.resolve(reply(input));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await act(() => new Promise((r) => setTimeout(r, 0)));
}

async function input(testid: string, value: string): Promise<void> {
  const el = root.querySelector<HTMLInputElement>(`[data-testid="${testid}"]`)!;
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

function submit(testid: string): void {
  root.querySelector<HTMLButtonElement>(`[data-testid="${testid}"]`)!.closest("form")!.requestSubmit();
}

async function mount(): Promise<void> {
  const api = new ConsoleApi(fakeFetch);
  reply = (path) =>
    path === "/api/v1/auth/me"
      ? new Response(JSON.stringify({ csrf_token: "csrf-1", user: { id: "u", email: "a@x", name: "A", role: "admin" } }))
      : new Response("{}", { status: 500 });
  await api.me();
  calls = [];
  await act(() => render(<PrivacyPanel api={api} onSessionGone={() => undefined} />, root));
}

describe("PrivacyPanel", () => {
  beforeEach(() => {
    root = document.createElement("div");
    document.body.append(root);
    calls = [];
    URL.createObjectURL = vi.fn(() => "blob:fake");
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  it("is for admins and owners only", () => {
    expect(["agent", "supervisor", "admin", "owner"].map(mayManagePrivacy)).toEqual([false, false, true, true]);
  });

  it("exports with the CSRF token and the address in the body, never the URL", async () => {
    await mount();
    reply = () =>
      new Response(new Blob(["PK"]), {
        status: 200,
        headers: { "Content-Type": "application/zip", "Content-Disposition": 'attachment; filename="person-export-1.zip"' },
      });
    await input("privacy-email", "ona@example.lt");
    submit("privacy-export");
    await settle();
    expect(calls).toEqual([{ path: "/api/v1/admin/gdpr/export", csrf: "csrf-1", body: { email: "ona@example.lt" } }]);
    expect(URL.createObjectURL).toHaveBeenCalled();
    expect(root.querySelector('[data-testid="privacy-feedback"]')!.textContent).toBe(t.privacyExported);
  });

  it("says so when nothing is stored", async () => {
    await mount();
    reply = () => new Response(JSON.stringify({ code: "not_found", message: "nothing" }), { status: 404 });
    await input("privacy-email", "nobody@example.lt");
    submit("privacy-export");
    await settle();
    expect(root.querySelector('[data-testid="privacy-feedback"]')!.textContent).toBe(t.privacyNothing);
  });

  it("erases only after the address is typed twice, with a reason", async () => {
    await mount();
    reply = () => new Response(JSON.stringify({ visitors: 2, counts: { events: 9 }, scrubbed: true }));
    await input("privacy-email", "ona@example.lt");
    await input("privacy-confirm", "other@example.lt");
    await input("privacy-reason", "asked by e-mail");
    submit("privacy-erase");
    await settle();
    expect(calls).toEqual([]);
    expect(root.querySelector('[data-testid="privacy-feedback"]')!.textContent).toBe(t.privacyMismatch);
    await input("privacy-confirm", "ONA@example.lt");
    // Spaces pass the field's "required"; the server's refusal came back in its own words.
    await input("privacy-reason", "   ");
    submit("privacy-erase");
    await settle();
    expect(calls).toEqual([]);
    expect(root.querySelector('[data-testid="privacy-feedback"]')!.textContent).toBe(t.privacyReasonNeeded);
    await input("privacy-reason", "asked by e-mail");
    submit("privacy-erase");
    await settle();
    expect(calls).toEqual([
      {
        path: "/api/v1/admin/gdpr/erase",
        csrf: "csrf-1",
        body: { email: "ona@example.lt", reason: "asked by e-mail" },
      },
    ]);
    expect(root.querySelector('[data-testid="privacy-feedback"]')!.textContent).toContain("2");
  });
});
