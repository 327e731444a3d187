/** Widgets: the embed code, the sites that may embed each widget, the department whose
 * queue its chats join, its colour, greeting, language, pre-chat fields and consent notice,
 * what it redacts and whether visitors must be verified. The identity secrets stay on the server's command line: never shown here.
 * One Save per widget; the server applies all of it or nothing and names a bad field.
 *
 * The greeting, the field labels and the consent text may be left at the widget's default
 * (null on the server): the field is then empty with the default greyed in it, and visitors
 * read the default in their language. Emptying a field goes back to the default. */
import { useRef, useState } from "preact/hooks";
import { format, pickWidgetLanguage, widgetTables, type WidgetLanguage } from "../../shared/i18n";
import type {
  AdminApi,
  AdminWidget,
  DefaultText,
  Department,
  IdentityMode,
  PrechatName,
  RedactionPattern,
  WidgetConsent,
  WidgetPrechatField,
  WidgetUpdate,
} from "./adminApi";
import { a, LoadError, Status, useAction, useLoad } from "./common";

// Typed by the widget's string tables: a new widget language must be named here too.
const LANGUAGES: Record<WidgetLanguage, string> = { en: a.widgetLanguageEn, lt: a.widgetLanguageLt };
const COLOR = /^#[0-9a-f]{6}$/iu;
const PRECHAT: readonly { name: PrechatName; legend: string; fallback: "fieldName" | "fieldEmail" }[] = [
  { name: "name", legend: a.prechatNameField, fallback: "fieldName" },
  { name: "email", legend: a.prechatEmailField, fallback: "fieldEmail" },
];

/** A text field's value for the server: empty (or blank) is the widget's default, null. */
export function textOrDefault(value: string): DefaultText {
  return value.trim() === "" ? null : value;
}

/** The non-empty lines of a textarea, trimmed. */
export function linesOf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** One rule per line: "iban" (built in) or "name: regular expression". */
export function parsePatterns(text: string): RedactionPattern[] {
  return linesOf(text).map((line) => {
    const colon = line.indexOf(":");
    return colon < 0 ? line : { name: line.slice(0, colon).trim(), regex: line.slice(colon + 1).trim() };
  });
}

export function patternsText(patterns: readonly RedactionPattern[]): string {
  return patterns.map((p) => (typeof p === "string" ? p : `${p.name}: ${p.regex}`)).join("\n");
}

/** The texts below are "" while left at the widget's default. */
interface PrechatRow {
  shown: boolean;
  label: string;
  required: boolean;
}

type DraftConsent = Omit<WidgetConsent, "text"> & { text: string };

interface Draft {
  origins: string;
  /** A department id, or "" for none (every agent). */
  department: string;
  color: string;
  greeting: string;
  language: string;
  prechat: Record<PrechatName, PrechatRow>;
  consent: DraftConsent;
  patterns: string;
  mode: IdentityMode;
}

function draftOf(w: AdminWidget): Draft {
  const row = (name: PrechatName): PrechatRow => {
    const f = w.prechat_fields.find((x) => x.name === name);
    return f ? { shown: true, label: f.label ?? "", required: f.required } : { shown: false, label: "", required: false };
  };
  return {
    origins: w.allowed_origins.join("\n"),
    department: w.department_id ?? "",
    color: w.color,
    greeting: w.greeting ?? "",
    language: w.language,
    prechat: { name: row("name"), email: row("email") },
    consent: { ...w.consent, text: w.consent.text ?? "" },
    patterns: patternsText(w.redaction_patterns),
    mode: w.identity.mode,
  };
}

function updateOf(w: AdminWidget, d: Draft): WidgetUpdate {
  // The widget's order is kept (an unchanged form is an unchanged setting); a field
  // turned on goes last.
  const order = [...w.prechat_fields.map((f) => f.name), ...PRECHAT.map((p) => p.name)];
  const prechat_fields: WidgetPrechatField[] = [...new Set(order)]
    .filter((n): n is PrechatName => (n === "name" || n === "email") && d.prechat[n].shown)
    .map((n) => ({ name: n, label: textOrDefault(d.prechat[n].label), required: d.prechat[n].required }));
  return {
    allowed_origins: linesOf(d.origins),
    department_id: d.department || null,
    color: d.color.trim(),
    greeting: textOrDefault(d.greeting),
    language: d.language,
    prechat_fields,
    consent: { ...d.consent, text: textOrDefault(d.consent.text) },
    redaction_patterns: parsePatterns(d.patterns),
    identity: { mode: d.mode },
  };
}

export function WidgetsPanel({ admin }: { admin: AdminApi }) {
  const widgets = useLoad(() => admin.widgets());
  // Listing them needs chat.handle: without it the selector offers what is set and "none".
  const deps = useLoad(() => admin.departments());
  return (
    <section class="card" aria-labelledby="admin-widgets">
      <div class="card-head">
        <h2 id="admin-widgets">{a.tabWidgets}</h2>
      </div>
      <LoadError error={widgets.error} />
      {widgets.data?.length === 0 && <p class="muted">{a.noWidgets}</p>}
      {(widgets.data ?? []).map((w) => (
        <WidgetForm key={w.id} admin={admin} widget={w} departments={deps.data ?? []} />
      ))}
    </section>
  );
}

interface FormProps {
  admin: AdminApi;
  widget: AdminWidget;
  departments: readonly Department[];
}

function WidgetForm({ admin, widget, departments }: FormProps) {
  const action = useAction();
  // What the server holds: the baseline for "the consent text changed".
  const [saved, setSaved] = useState(widget);
  const [d, setD] = useState(() => draftOf(widget));
  const [copied, setCopied] = useState(false);
  const snippet = useRef<HTMLTextAreaElement>(null);
  const set = (patch: Partial<Draft>) => setD((cur) => ({ ...cur, ...patch }));
  const setConsent = (patch: Partial<DraftConsent>) => setD((cur) => ({ ...cur, consent: { ...cur.consent, ...patch } }));
  const setPrechat = (name: PrechatName, patch: Partial<PrechatRow>) =>
    setD((cur) => ({ ...cur, prechat: { ...cur.prechat, [name]: { ...cur.prechat[name], ...patch } } }));
  const heading = `widget-${widget.id}`;
  const bumpVersion =
    textOrDefault(d.consent.text.trim()) !== saved.consent.text && d.consent.version.trim() === saved.consent.version;
  // The defaults, as visitors will read them: in the widget's language, or (auto) English
  // here, with the hint saying that each visitor reads them in their own.
  const widgetLang = pickWidgetLanguage(d.language, "en");
  const defaults = widgetTables[widgetLang];
  const defaultHint = d.language === "auto" ? a.textDefaultAuto : format(a.textDefaultIn, { language: LANGUAGES[widgetLang] });

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(saved.snippet);
      setCopied(true);
    } catch {
      // No clipboard (an insecure context, a refusal): select it for a manual copy.
      setCopied(false);
      snippet.current?.select();
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    await action.run(async () => {
      const updated = await admin.updateWidget(widget.id, updateOf(saved, d));
      setSaved(updated);
      setD(draftOf(updated));
    }, a.saved);
  };

  return (
    <form
      class="admin-form admin-widget"
      aria-labelledby={heading}
      onSubmit={(e) => void save(e)}
      data-testid="widget-form"
      data-widget={widget.id}
    >
      <h3 id={heading}>
        {widget.name} <code class="muted">{format(a.widgetId, { id: widget.id })}</code>
      </h3>
      <label class="field">
        <span>{a.widgetSnippet}</span>
        <textarea ref={snippet} readOnly rows={2} value={saved.snippet} data-testid="widget-snippet" />
      </label>
      <div class="admin-actions">
        <button class="button button--small" type="button" onClick={() => void copy()} data-testid="widget-copy">
          {a.copy}
        </button>
        {copied && (
          <span class="admin-ok" role="status">
            {a.copied}
          </span>
        )}
      </div>
      <label class="field">
        <span>{a.widgetOrigins}</span>
        <textarea rows={3} value={d.origins} onInput={(e) => set({ origins: e.currentTarget.value })} data-testid="widget-origins" />
      </label>
      <label class="field field--narrow">
        <span>{a.widgetDepartment}</span>
        <select
          value={d.department}
          onChange={(e) => set({ department: e.currentTarget.value })}
          aria-describedby={`${heading}-department`}
          data-testid="widget-department"
        >
          <option value="">{a.widgetDepartmentNone}</option>
          {departments.map((dep) => (
            <option key={dep.id} value={dep.id}>
              {dep.name}
            </option>
          ))}
          {d.department !== "" && !departments.some((dep) => dep.id === d.department) && (
            <option value={d.department}>{d.department}</option>
          )}
        </select>
      </label>
      <p class="hint" id={`${heading}-department`}>
        {a.widgetDepartmentHint}
      </p>

      <fieldset class="admin-fieldset">
        <legend>{a.widgetLook}</legend>
        <div class="admin-color">
          <input
            type="color"
            aria-label={a.widgetColorPicker}
            value={COLOR.test(d.color.trim()) ? d.color.trim().toLowerCase() : "#000000"}
            onInput={(e) => set({ color: e.currentTarget.value })}
            data-testid="widget-color-picker"
          />
          <label class="field">
            <span>{a.widgetColor}</span>
            <input type="text" value={d.color} onInput={(e) => set({ color: e.currentTarget.value })} data-testid="widget-color" />
          </label>
        </div>
        <DefaultableText
          id={`${heading}-greeting`}
          label={a.widgetGreeting}
          value={d.greeting}
          fallback={defaults.greeting}
          defaultHint={defaultHint}
          testid="widget-greeting"
          onInput={(greeting) => set({ greeting })}
        />
        <label class="field field--narrow">
          <span>{a.widgetLanguage}</span>
          <select value={d.language} onChange={(e) => set({ language: e.currentTarget.value })} data-testid="widget-language">
            <option value="auto">{a.widgetLanguageAuto}</option>
            {Object.entries(LANGUAGES).map(([code, label]) => (
              <option key={code} value={code}>
                {label}
              </option>
            ))}
            {d.language !== "auto" && !Object.hasOwn(LANGUAGES, d.language) && <option value={d.language}>{d.language}</option>}
          </select>
        </label>
      </fieldset>

      <fieldset class="admin-fieldset">
        <legend>{a.widgetPrechat}</legend>
        {PRECHAT.map(({ name, legend, fallback }) => {
          const row = d.prechat[name];
          return (
            <fieldset key={name} class="admin-fieldset" data-testid={`widget-prechat-${name}`}>
              <legend>{legend}</legend>
              <label class="admin-check">
                <input
                  type="checkbox"
                  checked={row.shown}
                  onChange={(e) => setPrechat(name, { shown: e.currentTarget.checked })}
                  data-testid={`widget-prechat-${name}-shown`}
                />{" "}
                {a.prechatShown}
              </label>
              <label class="admin-check">
                <input
                  type="checkbox"
                  checked={row.required}
                  disabled={!row.shown}
                  onChange={(e) => setPrechat(name, { required: e.currentTarget.checked })}
                  data-testid={`widget-prechat-${name}-required`}
                />{" "}
                {a.prechatRequired}
              </label>
              <DefaultableText
                id={`${heading}-prechat-${name}`}
                label={a.prechatLabel}
                value={row.label}
                fallback={defaults[fallback]}
                defaultHint={defaultHint}
                disabled={!row.shown}
                testid={`widget-prechat-${name}-label`}
                onInput={(label) => setPrechat(name, { label })}
              />
            </fieldset>
          );
        })}
      </fieldset>

      <fieldset class="admin-fieldset">
        <legend>{a.widgetConsent}</legend>
        <label class="admin-check">
          <input
            type="checkbox"
            checked={d.consent.required}
            onChange={(e) => setConsent({ required: e.currentTarget.checked })}
            data-testid="widget-consent-required"
          />{" "}
          {a.consentRequired}
        </label>
        <DefaultableText
          id={`${heading}-consent-text`}
          label={a.consentText}
          value={d.consent.text}
          fallback={defaults.consentText}
          defaultHint={defaultHint}
          multiline
          testid="widget-consent-text"
          onInput={(text) => setConsent({ text })}
        />
        <label class="field field--narrow">
          <span>{a.consentVersion}</span>
          <input
            type="text"
            value={d.consent.version}
            onInput={(e) => setConsent({ version: e.currentTarget.value })}
            aria-describedby={bumpVersion ? `${heading}-bump` : undefined}
            data-testid="widget-consent-version"
          />
        </label>
        {bumpVersion && (
          <p class="notice notice--warn" id={`${heading}-bump`} data-testid="widget-consent-bump">
            {a.consentBumpVersion}
          </p>
        )}
        <label class="field">
          <span>{a.consentPrivacyUrl}</span>
          <input
            type="text"
            inputMode="url"
            value={d.consent.privacy_url}
            onInput={(e) => setConsent({ privacy_url: e.currentTarget.value })}
            data-testid="widget-consent-url"
          />
        </label>
      </fieldset>

      <label class="field">
        <span>{a.widgetRedaction}</span>
        <textarea
          rows={3}
          spellcheck={false}
          value={d.patterns}
          onInput={(e) => set({ patterns: e.currentTarget.value })}
          aria-describedby={`${heading}-redaction`}
          data-testid="widget-patterns"
        />
      </label>
      <p class="hint" id={`${heading}-redaction`}>
        {a.widgetRedactionHint}
      </p>

      <label class="field field--narrow">
        <span>{a.widgetIdentity}</span>
        <select
          value={d.mode}
          onChange={(e) => set({ mode: e.currentTarget.value === "strict" ? "strict" : "optional" })}
          aria-describedby={`${heading}-identity`}
          data-testid="widget-identity"
        >
          <option value="optional">{a.identityOptional}</option>
          <option value="strict">{a.identityStrict}</option>
        </select>
      </label>
      <p class="hint" id={`${heading}-identity`}>
        {a.identityHint}
      </p>

      <Status status={action.status} />
      <div class="admin-actions">
        <button class="button button--primary" type="submit" disabled={action.busy} data-testid="widget-save">
          {a.save}
        </button>
      </div>
    </form>
  );
}

interface DefaultableTextProps {
  /** The field's id; its hint is `${id}-hint`. */
  id: string;
  label: string;
  /** "" while the text is left at the widget's default. */
  value: string;
  /** The default, greyed in the empty field. */
  fallback: string;
  defaultHint: string;
  multiline?: boolean;
  disabled?: boolean;
  testid: string;
  onInput: (value: string) => void;
}

/**
 * A text an admin may write, or leave to the widget's default: empty, the default shows
 * greyed in the field and the hint says visitors read it in their language; written, a
 * button goes back to the default.
 */
function DefaultableText(p: DefaultableTextProps) {
  // No maxLength here or on the other fields of this form: it cut a pasted consent text
  // at 500 characters without a word and the form said "Saved". The server refuses a
  // text over its limit and names the field and the limit.
  const custom = p.value.trim() !== "";
  const hint = `${p.id}-hint`;
  const common = {
    id: p.id,
    value: p.value,
    placeholder: p.fallback,
    disabled: p.disabled,
    "aria-describedby": hint,
    "data-testid": p.testid,
  };
  const useDefault = () => {
    p.onInput("");
    // The button goes away with the custom text: keep the keyboard where it was working.
    document.getElementById(p.id)?.focus();
  };
  return (
    <>
      <label class="field">
        <span>{p.label}</span>
        {p.multiline ? (
          <textarea rows={3} {...common} onInput={(e) => p.onInput(e.currentTarget.value)} />
        ) : (
          <input type="text" {...common} onInput={(e) => p.onInput(e.currentTarget.value)} />
        )}
      </label>
      <p class="hint admin-default" id={hint} data-testid={`${p.testid}-hint`}>
        <span>{custom ? a.textCustom : p.defaultHint}</span>
        {custom && (
          <button
            type="button"
            class="button button--small"
            disabled={p.disabled}
            onClick={useDefault}
            data-testid={`${p.testid}-default`}
          >
            {a.textUseDefault}
          </button>
        )}
      </p>
    </>
  );
}
