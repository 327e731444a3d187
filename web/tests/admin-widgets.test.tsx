import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AdminArea } from "../console/admin/AdminArea";
import type { AdminWidget } from "../console/admin/adminApi";
import { parsePatterns, patternsText } from "../console/admin/WidgetsPanel";
import { ConsoleApi } from "../console/api";
import { adminTables, widgetTables } from "../shared/i18n";

const a = adminTables.en;
const CSRF = "csrf-widgets";

const WIDGET: AdminWidget = {
  id: "w_1",
  name: "Support",
  allowed_origins: ["https://shop.example"],
  snippet: '<script async src="https://chat.example/widget.js" data-bastion-widget="w_1"></script>',
  color: "#2f6fed",
  greeting: "Hi! How can we help?",
  language: "auto",
  prechat_fields: [
    { name: "name", label: "Name", type: "text", required: false },
    { name: "email", label: "E-mail", type: "email", required: false },
  ],
  consent: { required: true, version: "2026-01", text: "I agree.", privacy_url: "/privacy" },
  redaction_patterns: ["iban", { name: "order_ref", regex: "ORD-\\d{6}" }],
  identity: { mode: "optional" },
  department_id: null,
};
const DEPARTMENTS = [
  { id: "d_sales", name: "Sales" },
  { id: "d_billing", name: "Billing" },
];

interface Call {
  method: string;
  path: string;
  csrf: string | null;
  body: unknown;
}

/** A fake server for the widgets tab: PATCH echoes the body onto the widget, or refuses. */
class FakeServer {
  calls: Call[] = [];
  widget: AdminWidget = structuredClone(WIDGET);
  refuse: { status: number; body: unknown } | null = null;
  /** GET /api/v1/departments needs chat.handle: a role without it is refused. */
  departmentsRefused = false;

  fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const method = init?.method ?? "GET";
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body: unknown = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    this.calls.push({ method, path: input, csrf: headers["X-CSRF-Token"] ?? null, body });
    const json = (status: number, data: unknown) => new Response(JSON.stringify(data), { status });
    if (method === "GET" && input === "/api/v1/auth/me") {
      return json(200, { csrf_token: CSRF, user: { id: "u_me", email: "a@x.io", name: "A", role: "admin" } });
    }
    if (method === "GET" && input === "/api/v1/widgets") return json(200, [this.widget]);
    if (method === "GET" && input === "/api/v1/departments") {
      return this.departmentsRefused
        ? json(403, { code: "forbidden", message: "your role cannot see departments" })
        : json(200, DEPARTMENTS);
    }
    if (method === "PATCH" && input === "/api/v1/widgets/w_1") {
      if (this.refuse) return json(this.refuse.status, this.refuse.body);
      const patch = body as Partial<AdminWidget>;
      this.widget = { ...this.widget, ...patch, color: (patch.color ?? this.widget.color).toLowerCase() };
      return json(200, this.widget);
    }
    return json(404, { code: "not_found", message: "no route" });
  };

  writes(): Call[] {
    return this.calls.filter((c) => c.method !== "GET");
  }
}

let root: HTMLElement;
let server: FakeServer;

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await act(async () => {
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
    });
  }
}
function must<T extends Element = HTMLElement>(testid: string): T {
  const el = root.querySelector<T>(`[data-testid="${testid}"]`);
  if (!el) throw new Error(`no [data-testid=${testid}]`);
  return el;
}
async function type(testid: string, value: string): Promise<void> {
  const input = must<HTMLInputElement>(testid);
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}
async function pick(testid: string, value: string): Promise<void> {
  const select = must<HTMLSelectElement>(testid);
  await act(() => {
    select.value = value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
}
async function tick(testid: string): Promise<void> {
  await act(() => must<HTMLInputElement>(testid).click());
}
async function save(): Promise<void> {
  await act(() => must<HTMLFormElement>("widget-form").requestSubmit());
  await settle();
}

async function mount(mine: string[]): Promise<void> {
  const api = new ConsoleApi(server.fetch);
  await api.me();
  server.calls = [];
  await act(() => {
    render(<AdminArea api={api} me="u_me" all={mine} mine={mine} onBack={() => undefined} />, root);
  });
  await settle();
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  server = new FakeServer();
});

afterEach(() => {
  render(null, root);
  root.remove();
});

describe("the widgets tab", () => {
  it("appears for widgets.manage only", async () => {
    await mount(["chat.handle", "users.manage"]);
    expect(root.querySelector('[data-testid="admin-tab-widgets"]')).toBeNull();
    await mount(["widgets.manage"]);
    expect(must("admin-tab-widgets").textContent).toBe(a.tabWidgets);
    expect(server.calls.map((c) => c.path).sort()).toEqual(["/api/v1/departments", "/api/v1/widgets"]);
  });

  it("shows the settings, the snippet read-only, and a label on every input", async () => {
    await mount(["widgets.manage"]);
    const form = must("widget-form");
    expect(form.textContent).toContain("Support");
    const snippet = must<HTMLTextAreaElement>("widget-snippet");
    expect(snippet.readOnly).toBe(true);
    expect(snippet.value).toBe(WIDGET.snippet);
    expect(must<HTMLTextAreaElement>("widget-origins").value).toBe("https://shop.example");
    expect(must<HTMLInputElement>("widget-color").value).toBe("#2f6fed");
    expect(must<HTMLInputElement>("widget-color-picker").value).toBe("#2f6fed");
    expect(must<HTMLTextAreaElement>("widget-patterns").value).toBe("iban\norder_ref: ORD-\\d{6}");
    expect(must<HTMLSelectElement>("widget-identity").value).toBe("optional");
    expect(must<HTMLInputElement>("widget-prechat-email-shown").checked).toBe(true);
    for (const el of form.querySelectorAll<HTMLElement>("input, textarea, select")) {
      const labelled = el.closest("label") !== null || el.getAttribute("aria-label");
      expect(labelled, el.getAttribute("data-testid") ?? el.outerHTML).toBeTruthy();
    }
  });

  it("edits and saves everything in one PATCH, with the CSRF token", async () => {
    await mount(["widgets.manage"]);
    await type("widget-origins", "https://shop.example\n\n  https://*.shop.example  ");
    await type("widget-color", "#0A7D3B");
    await type("widget-greeting", "Labas!");
    await pick("widget-language", "lt");
    await tick("widget-prechat-name-shown"); // stop asking for the name
    await tick("widget-prechat-email-required");
    await type("widget-prechat-email-label", "Your e-mail");
    await type("widget-consent-text", "I agree that Shop keeps this chat.");
    // A new text with the old version: the form suggests a new version, and says why.
    const bump = must("widget-consent-bump");
    expect(bump.textContent).toBe(a.consentBumpVersion);
    expect(must("widget-consent-version").getAttribute("aria-describedby")).toBe(bump.id);
    await type("widget-consent-version", "2026-02");
    expect(root.querySelector('[data-testid="widget-consent-bump"]')).toBeNull();
    await type("widget-consent-url", "https://shop.example/privacy");
    await type("widget-patterns", "iban\n lt_code : \\b[3-6]\\d{10}\\b\n");
    await pick("widget-identity", "strict");
    await save();

    expect(server.writes()).toEqual([
      {
        method: "PATCH",
        path: "/api/v1/widgets/w_1",
        csrf: CSRF,
        body: {
          allowed_origins: ["https://shop.example", "https://*.shop.example"],
          color: "#0A7D3B",
          greeting: "Labas!",
          language: "lt",
          prechat_fields: [{ name: "email", label: "Your e-mail", required: true }],
          consent: {
            required: true,
            version: "2026-02",
            text: "I agree that Shop keeps this chat.",
            privacy_url: "https://shop.example/privacy",
          },
          redaction_patterns: ["iban", { name: "lt_code", regex: "\\b[3-6]\\d{10}\\b" }],
          identity: { mode: "strict" },
          department_id: null,
        },
      },
    ]);
    expect(must("admin-ok").textContent).toBe(a.saved);
    // The form shows what the server stored (its normalised colour).
    expect(must<HTMLInputElement>("widget-color").value).toBe("#0a7d3b");
    expect(must<HTMLInputElement>("widget-prechat-name-label").disabled).toBe(true);
  });

  it("shows the server's refusal as a sentence and keeps the draft", async () => {
    await mount(["widgets.manage"]);
    server.refuse = {
      status: 422,
      body: { code: "invalid_request", message: "the colour must be written #rrggbb, e.g. #2f6fed", field: "color" },
    };
    await type("widget-color", "green");
    await save();
    expect(must("admin-error").textContent).toBe("The colour must be written #rrggbb, e.g. #2f6fed.");
    expect(must<HTMLInputElement>("widget-color").value).toBe("green");
    // The picker cannot show "green": it falls back instead of taking a bad value.
    expect(must<HTMLInputElement>("widget-color-picker").value).toBe("#000000");
    server.refuse = null;
    await type("widget-color", "#123456");
    await save();
    expect(must("admin-ok").textContent).toBe(a.saved);
    expect(root.querySelector('[data-testid="admin-error"]')).toBeNull();
  });
});

describe("the widget's department", () => {
  const body = () => server.writes().at(-1)?.body as Partial<AdminWidget>;

  it("is chosen from the departments, or none, and saved with the rest", async () => {
    await mount(["widgets.manage", "chat.handle"]);
    const select = must<HTMLSelectElement>("widget-department");
    expect(select.closest("label")?.textContent).toContain(a.widgetDepartment);
    expect(Array.from(select.options, (o) => [o.value, o.textContent])).toEqual([
      ["", a.widgetDepartmentNone],
      ["d_sales", "Sales"],
      ["d_billing", "Billing"],
    ]);
    expect(select.value).toBe("");
    await pick("widget-department", "d_billing");
    await save();
    expect(body().department_id).toBe("d_billing");
    // The form shows what the server stored.
    expect(must<HTMLSelectElement>("widget-department").value).toBe("d_billing");
    await pick("widget-department", "");
    await save();
    expect(body().department_id).toBeNull();
  });

  it("keeps the current one where departments cannot be listed, and shows a refusal", async () => {
    server.widget = { ...structuredClone(WIDGET), department_id: "d_sales" };
    server.departmentsRefused = true;
    await mount(["widgets.manage"]);
    const select = must<HTMLSelectElement>("widget-department");
    expect(Array.from(select.options, (o) => o.value)).toEqual(["", "d_sales"]);
    expect(select.value).toBe("d_sales");
    await save();
    expect(body().department_id).toBe("d_sales"); // unchanged, not cleared
    server.refuse = { status: 404, body: { code: "not_found", message: "no such department", field: "department_id" } };
    await pick("widget-department", "");
    await save();
    expect(must("admin-error").textContent).toBe("No such department.");
  });
});

describe("texts left at the widget's default", () => {
  const body = () => server.writes().at(-1)?.body as Partial<AdminWidget>;
  /** A widget nobody changed, as the server lists it: its texts are null. */
  const UNTOUCHED: AdminWidget = {
    ...structuredClone(WIDGET),
    greeting: null,
    prechat_fields: [
      { name: "name", label: null, type: "text", required: false },
      { name: "email", label: null, type: "email", required: false },
    ],
    consent: { required: true, version: "2026-01", text: null, privacy_url: "/privacy" },
  };

  it("show empty, with the default greyed in and said to follow the visitor's language", async () => {
    server.widget = structuredClone(UNTOUCHED);
    await mount(["widgets.manage"]);
    const en = widgetTables.en;
    for (const [testid, fallback] of [
      ["widget-greeting", en.greeting],
      ["widget-prechat-name-label", en.fieldName],
      ["widget-prechat-email-label", en.fieldEmail],
      ["widget-consent-text", en.consentText],
    ] as const) {
      const field = must<HTMLInputElement>(testid);
      expect(field.value, testid).toBe("");
      expect(field.placeholder, testid).toBe(fallback);
      const hint = must(`${testid}-hint`);
      expect(field.getAttribute("aria-describedby")).toBe(hint.id);
      expect(hint.textContent).toBe(a.textDefaultAuto);
      expect(root.querySelector(`[data-testid="${testid}-default"]`)).toBeNull();
    }
    // A widget fixed to Lithuanian: the defaults as its visitors will read them.
    await pick("widget-language", "lt");
    expect(must<HTMLInputElement>("widget-greeting").placeholder).toBe(widgetTables.lt.greeting);
    expect(must<HTMLTextAreaElement>("widget-consent-text").placeholder).toBe(widgetTables.lt.consentText);
    expect(must("widget-greeting-hint").textContent).toBe("Default text, shown in Lithuanian.");

    // Saved untouched, they stay the default: null, not the English text.
    await save();
    expect(body()).toMatchObject({
      greeting: null,
      prechat_fields: [
        { name: "name", label: null, required: false },
        { name: "email", label: null, required: false },
      ],
      consent: { required: true, version: "2026-01", text: null, privacy_url: "/privacy" },
    });
    expect(root.querySelector('[data-testid="widget-consent-bump"]')).toBeNull();
  });

  it("can be written, and go back to the default", async () => {
    server.widget = structuredClone(UNTOUCHED);
    await mount(["widgets.manage"]);
    await type("widget-greeting", "Labas!");
    await type("widget-prechat-email-label", "Your e-mail");
    expect(must("widget-greeting-hint").textContent).toContain(a.textCustom);
    await save();
    expect(body()).toMatchObject({
      greeting: "Labas!",
      prechat_fields: [
        { name: "name", label: null, required: false },
        { name: "email", label: "Your e-mail", required: false },
      ],
    });
    expect(must<HTMLInputElement>("widget-greeting").value).toBe("Labas!");

    // Back to the default: one button (the focus stays on the field), or emptying it.
    const reset = must<HTMLButtonElement>("widget-greeting-default");
    expect(reset.textContent).toBe(a.textUseDefault);
    await act(() => reset.click());
    expect(must<HTMLInputElement>("widget-greeting").value).toBe("");
    expect(document.activeElement).toBe(must("widget-greeting"));
    expect(root.querySelector('[data-testid="widget-greeting-default"]')).toBeNull();
    await type("widget-prechat-email-label", "   ");
    await save();
    expect(body()).toMatchObject({
      greeting: null,
      prechat_fields: [
        { name: "name", label: null, required: false },
        { name: "email", label: null, required: false },
      ],
    });
  });

  it("count as a new consent text when an admin's text goes back to the default", async () => {
    await mount(["widgets.manage"]);
    expect(must<HTMLTextAreaElement>("widget-consent-text").value).toBe("I agree.");
    await act(() => must<HTMLButtonElement>("widget-consent-text-default").click());
    expect(must("widget-consent-bump").textContent).toBe(a.consentBumpVersion);
    await type("widget-consent-version", "2026-02");
    await save();
    expect(body().consent).toEqual({ required: true, version: "2026-02", text: null, privacy_url: "/privacy" });
  });
});

describe("redaction pattern lines", () => {
  it("round-trip between the list and the textarea", () => {
    expect(parsePatterns("iban\n\n  order_ref:  ORD-\\d{6} \nurl: https?://x")).toEqual([
      "iban",
      { name: "order_ref", regex: "ORD-\\d{6}" },
      { name: "url", regex: "https?://x" },
    ]);
    expect(parsePatterns(patternsText(WIDGET.redaction_patterns))).toEqual(WIDGET.redaction_patterns);
  });
});
