/** The widget frame's DOM: built once, then updated in place by the controller (chat.ts). */
import { el } from "../../shared/dom";
import { formatSize } from "../../shared/http";
import { format, type StringTable, type WidgetKey } from "../../shared/i18n";
import type { FileMessage, PrechatField, SeqEvent, WidgetConfig } from "../../shared/protocol";
import { renderText } from "../../shared/text";

export type T = StringTable<WidgetKey>;

export interface View {
  root: HTMLElement;
  title: HTMLElement;
  agent: HTMLElement;
  minimise: HTMLButtonElement;
  state: HTMLElement;
  connection: HTMLElement;
  notice: HTMLElement;
  scroller: HTMLElement;
  greeting: HTMLElement;
  prechatSlot: HTMLElement;
  log: HTMLElement;
  typing: HTMLElement;
  closed: HTMLElement;
  rateBox: HTMLElement;
  rateGood: HTMLButtonElement;
  rateBad: HTMLButtonElement;
  rateThanks: HTMLElement;
  newChat: HTMLButtonElement;
  transcript: HTMLButtonElement;
  footer: HTMLElement;
  composerForm: HTMLFormElement;
  composer: HTMLTextAreaElement;
  send: HTMLButtonElement;
  /** Shown only when the server shares files (config.files). */
  attach: HTMLButtonElement;
  fileInput: HTMLInputElement;
  end: HTMLButtonElement;
  /** "End this chat?" in place of the End chat link, until the visitor answers. */
  endConfirm: HTMLElement;
  endYes: HTMLButtonElement;
  endNo: HTMLButtonElement;
  /** Characters left near the message limit; over it, the error (the text is never cut). */
  counter: HTMLElement;
  /** The inline "this looks like a card number / password" confirmation. */
  warning: HTMLElement;
  warningText: HTMLElement;
  sendAnyway: HTMLButtonElement;
  cancelSend: HTMLButtonElement;
}

export function buildView(root: HTMLElement, t: T): View {
  const title = el("h1", { class: "title" });
  const agent = el("p", { class: "agent" });
  const minimise = el("button", {
    class: "icon-button",
    text: "\u2013",
    attrs: { type: "button", "aria-label": t.minimise, title: t.minimise },
  });
  const header = el("header", { class: "header" }, [el("div", { class: "heading" }, [title, agent]), minimise]);

  const state = el("div", { class: "state", attrs: { "data-testid": "state", role: "status" } });
  const connection = el("div", { class: "connection", attrs: { role: "status", hidden: true } });
  const notice = el("div", { class: "notice", attrs: { role: "alert", hidden: true } });

  const greeting = el("p", { class: "greeting", attrs: { hidden: true } });
  const prechatSlot = el("div", { class: "prechat-slot" });
  const log = el("div", {
    class: "log",
    attrs: { "data-testid": "messages", role: "log", "aria-live": "polite", "aria-relevant": "additions" },
  });
  const typing = el("div", { class: "typing", attrs: { "data-testid": "typing", "aria-live": "polite" } });

  // Thumbs drawn, like the paper clip: an emoji needs a font the visitor may not have.
  const rateGood = el("button", { class: "rate rate--good", attrs: { type: "button", "data-testid": "rate-good" } }, [
    icon(THUMB_PATH),
    document.createTextNode(t.rateGood),
  ]);
  const rateBad = el("button", { class: "rate rate--bad", attrs: { type: "button", "data-testid": "rate-bad" } }, [
    icon(THUMB_PATH, "rotate(180 12 12)"),
    document.createTextNode(t.rateBad),
  ]);
  // A group named by its question, so the buttons are read with it.
  const rateBox = el("div", { class: "rate-box", attrs: { role: "group", "aria-labelledby": "rate-prompt" } }, [
    el("p", { class: "rate-prompt", text: t.ratePrompt, attrs: { id: "rate-prompt" } }),
    el("div", { class: "rate-buttons" }, [rateGood, rateBad]),
  ]);
  const rateThanks = el("p", { class: "rate-thanks", text: t.rateThanks, attrs: { hidden: true } });
  const newChat = el("button", {
    class: "button button--primary",
    text: t.newChat,
    attrs: { type: "button", "data-testid": "new-chat" },
  });
  const transcript = el("button", {
    class: "link-button",
    text: t.transcript,
    attrs: { type: "button", "data-testid": "transcript" },
  });
  const closed = el("div", { class: "closed-panel", attrs: { hidden: true } }, [
    rateBox,
    rateThanks,
    newChat,
    transcript,
  ]);

  const scroller = el("main", { class: "scroller" }, [greeting, prechatSlot, log, closed]);

  const composer = el("textarea", {
    class: "composer-input",
    attrs: {
      "data-testid": "composer",
      rows: 1,
      placeholder: t.composerPlaceholder,
      "aria-label": t.composerLabel,
      autocomplete: "off",
      "aria-describedby": "composer-limit",
    },
  });
  const send = el("button", {
    class: "button button--primary send",
    text: t.send,
    attrs: { type: "submit", "data-testid": "send" },
  });
  const counter = el("span", {
    class: "counter",
    attrs: { id: "composer-limit", "aria-live": "polite", hidden: true, "data-testid": "counter" },
  });
  const fileInput = el("input", { class: "file-input", attrs: { type: "file", hidden: true, "data-testid": "file-input" } });
  const attach = el(
    "button",
    {
      class: "icon-button attach",
      attrs: { type: "button", hidden: true, "aria-label": t.attach, title: t.attach, "data-testid": "attach" },
    },
    [icon(CLIP_PATH)],
  );
  const composerForm = el("form", { class: "composer" }, [attach, fileInput, composer, send]);
  const warningText = el("p", { class: "warning-text" });
  const sendAnyway = el("button", {
    class: "button",
    text: t.sendAnyway,
    attrs: { type: "button", "data-testid": "send-anyway" },
  });
  const cancelSend = el("button", {
    class: "button button--primary",
    text: t.cancelSend,
    attrs: { type: "button", "data-testid": "cancel-send" },
  });
  const warning = el(
    "div",
    { class: "send-warning", attrs: { role: "alert", hidden: true, "data-testid": "redaction-warning" } },
    [warningText, el("div", { class: "warning-buttons" }, [cancelSend, sendAnyway])],
  );
  const end = el("button", { class: "link-button", text: t.end, attrs: { type: "button", "data-testid": "end" } });
  // Asked in place, never with confirm(): a mis-tap on a phone must not lose the agent.
  const endYes = el("button", {
    class: "button button--small button--danger",
    text: t.end,
    attrs: { type: "button", "data-testid": "end-confirm" },
  });
  const endNo = el("button", {
    class: "button button--small button--primary",
    text: t.endKeep,
    attrs: { type: "button", "data-testid": "end-cancel" },
  });
  const endConfirm = el(
    "div",
    {
      class: "end-confirm",
      attrs: { role: "group", "aria-labelledby": "end-confirm-text", hidden: true, "data-testid": "end-confirmation" },
    },
    [el("span", { class: "end-confirm-text", text: t.endConfirm, attrs: { id: "end-confirm-text" } }), endYes, endNo],
  );
  const footer = el("footer", { class: "footer" }, [
    warning,
    composerForm,
    el("div", { class: "footer-tools" }, [counter, end, endConfirm]),
  ]);
  const reminder = el("p", { class: "reminder", text: t.reminder });

  root.replaceChildren(header, state, connection, notice, scroller, footer, reminder);
  return {
    root,
    title,
    agent,
    minimise,
    state,
    connection,
    notice,
    scroller,
    greeting,
    prechatSlot,
    log,
    typing,
    closed,
    rateBox,
    rateGood,
    rateBad,
    rateThanks,
    newChat,
    transcript,
    footer,
    composerForm,
    composer,
    send,
    attach,
    fileInput,
    end,
    endConfirm,
    endYes,
    endNo,
    counter,
    warning,
    warningText,
    sendAnyway,
    cancelSend,
  };
}

/** A paper clip, drawn (an emoji needs a font the visitor may not have). */
export const CLIP_PATH = "M16.5 6.5 8.9 14.1a2 2 0 0 0 2.8 2.8l7.4-7.4a4 4 0 0 0-5.7-5.7l-7.6 7.6a6 6 0 0 0 8.5 8.5l6.2-6.2";
/** A raised thumb (turned over, a lowered one). */
export const THUMB_PATH = "M3 10h4v10H3zM7 10l4-7a2 2 0 0 1 3 1.8L13.5 9H19a2 2 0 0 1 2 2.4l-1.4 6.8A2.2 2.2 0 0 1 17.4 20H7";

/** A decorative line icon in the text colour; `transform` turns it. */
function icon(d: string, transform?: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "20", height: "20", "aria-hidden": "true" })) {
    svg.setAttribute(k, v);
  }
  const path = document.createElementNS(ns, "path");
  for (const [k, v] of Object.entries({
    d,
    fill: "none",
    stroke: "currentColor",
    "stroke-width": "2",
    "stroke-linecap": "round",
    "stroke-linejoin": "round",
  })) {
    path.setAttribute(k, v);
  }
  if (transform) path.setAttribute("transform", transform);
  svg.appendChild(path);
  return svg;
}

const INPUT_TYPES: ReadonlySet<string> = new Set(["text", "email", "tel"]);

/** Builds the pre-chat form from the widget configuration. */
export function buildPrechat(config: WidgetConfig, t: T): HTMLFormElement {
  const rows: HTMLElement[] = [prechatIntro(config.online, t)];
  for (const field of config.prechat_fields) rows.push(fieldRow(field, t));

  const message = el("textarea", {
    attrs: { id: "prechat-message", name: "message", rows: 3 },
  });
  rows.push(
    el("div", { class: "field field--message" }, [
      el("label", { attrs: { for: "prechat-message" } }, [
        document.createTextNode(`${t.fieldMessage} `),
        el("span", { class: "optional", text: t.optional }),
      ]),
      message,
    ]),
  );

  const consent = consentRow(config.consent, t);
  if (consent) rows.push(consent);

  rows.push(
    el("button", {
      class: "button button--primary button--block",
      text: t.start,
      attrs: { type: "submit", "data-testid": "start" },
    }),
  );
  return el("form", { class: "prechat", attrs: { "data-testid": "prechat" } }, rows);
}

/**
 * The consent notice with its checkbox (unticked), or null when the widget asks for none.
 * Rebuilt when the notice changed while the page was open (``consent_required``).
 */
export function consentRow(consent: WidgetConfig["consent"], t: T): HTMLElement | null {
  if (!consent?.required) return null;
  const box = el("input", {
    attrs: { type: "checkbox", id: "prechat-consent", name: "consent", "data-testid": "consent", required: true },
  });
  const label = el("label", { class: "consent-text", attrs: { for: "prechat-consent" } });
  renderText(label, consent.text || t.consentText, { warning: t.linkWarning });
  const children: HTMLElement[] = [box, label];
  const privacy = safeHttpUrl(consent.privacy_url);
  if (privacy) {
    children.push(
      el("a", {
        class: "privacy",
        text: t.privacyPolicy,
        attrs: { href: privacy, target: "_blank", rel: "noopener noreferrer" },
      }),
    );
  }
  return el("div", { class: "consent" }, children);
}

/**
 * The form's first line. Offline, the intro's "we will be right with you" would contradict
 * the offline notice, so it is one or the other.
 */
export function prechatIntro(online: boolean, t: T): HTMLElement {
  return online ? el("p", { class: "intro", text: t.prechatIntro }) : el("p", { class: "offline", text: t.offline });
}

function fieldRow(field: PrechatField, t: T): HTMLElement {
  const id = `prechat-${field.name.replace(/[^\w-]/gu, "_")}`;
  const type = INPUT_TYPES.has(field.type) ? field.type : "text";
  const autocomplete = field.name === "name" ? "name" : field.name === "email" ? "email" : "off";
  const input = el("input", {
    attrs: {
      id,
      name: field.name,
      type,
      required: field.required,
      autocomplete,
      maxlength: 200,
    },
  });
  const label = el("label", { attrs: { for: id } }, [document.createTextNode(`${fieldLabel(field, t)} `)]);
  if (!field.required) label.appendChild(el("span", { class: "optional", text: t.optional }));
  return el("div", { class: "field" }, [label, input]);
}

/**
 * A pre-chat field's label: the admin's, or (null: left at its default) the widget's own in
 * the visitor's language.
 */
export function fieldLabel(field: PrechatField, t: T): string {
  if (field.label) return field.label;
  return field.name === "name" ? t.fieldName : field.name === "email" ? t.fieldEmail : field.name;
}

/** Returns the URL if it is http(s), else null (a javascript: privacy link must not render). */
export function safeHttpUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value, location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function timeOf(ts: string | undefined, lang: string): string {
  if (!ts) return "";
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

/** One element per conversation event; messages carry the test hooks e2e tests rely on. */
export function renderEvent(ev: SeqEvent, t: T, lang: string): HTMLElement | null {
  switch (ev.t) {
    case "msg": {
      const kind = ev.message.author.kind;
      const author = kind === "visitor" ? t.you : ev.message.author.name || (kind === "agent" ? t.agent : t.system);
      // dir="auto": an Arabic or Hebrew message reads and aligns right-to-left on its own.
      const body = el("div", { class: "body", attrs: { dir: "auto" } });
      renderText(body, ev.message.body, { warning: t.linkWarning });
      const time = el("time", { text: timeOf(ev.message.ts, lang), attrs: { datetime: ev.message.ts } });
      return el(
        "div",
        {
          class: `msg msg--${kind}`,
          attrs: { "data-testid": "msg", "data-seq": ev.seq, "data-author": kind },
        },
        [el("div", { class: "meta" }, [el("span", { class: "author", text: author }), time]), body],
      );
    }
    case "conv.state": {
      let text: string;
      if (ev.state === "waiting") text = ev.reason === "requeued" ? t.eventRequeued : t.eventWaiting;
      else if (ev.state === "active") text = ev.agent?.name ? format(t.eventJoined, { name: ev.agent.name }) : t.stateActiveNoName;
      else text = ev.reason === "idle" ? t.eventClosedIdle : t.eventClosed;
      return systemLine(ev.seq, text);
    }
    case "rating":
      return systemLine(ev.seq, ev.score === "good" ? t.eventRatedGood : t.eventRatedBad);
    case "file":
      return renderFile(ev.seq, ev.file, t, lang);
    case "note":
      // Never sent to visitors; ignore one if it ever arrives.
      return null;
  }
}

/**
 * A shared file: its name as text and a download button (the controller fetches it with the
 * visitor's token and saves it; nothing is ever shown inline).
 */
function renderFile(seq: number, file: FileMessage, t: T, lang: string): HTMLElement {
  const kind = file.author.kind;
  const author = kind === "visitor" ? t.you : file.author.name || (kind === "agent" ? t.agent : t.system);
  const time = el("time", { text: timeOf(file.ts, lang), attrs: { datetime: file.ts } });
  const button = el("button", {
    class: "file-download",
    text: `${t.download} (${formatSize(file.size)})`,
    attrs: { type: "button", "data-file-id": file.id, "data-file-name": file.name, "data-testid": "file-download" },
  });
  return el(
    "div",
    { class: `msg msg--${kind} msg--file`, attrs: { "data-testid": "file", "data-seq": seq, "data-author": kind } },
    [
      el("div", { class: "meta" }, [el("span", { class: "author", text: author }), time]),
      el("div", { class: "body file-body" }, [el("span", { class: "file-name", text: file.name, attrs: { dir: "auto" } }), button]),
    ],
  );
}

/**
 * An agent's invitation: the agent's name and the message, both as text nodes only (no links,
 * no markup: the visitor has not chosen to talk to anyone yet).
 */
export function renderInvitation(agent: string | null, message: string, t: T): HTMLElement {
  return el(
    "section",
    { class: "invitation", attrs: { "data-testid": "invitation", role: "status", "aria-label": t.invitationLabel } },
    [
      el("p", { class: "invitation-agent", text: agent || t.agent }),
      el("p", { class: "invitation-message", text: message, attrs: { dir: "auto" } }),
      el("p", { class: "invitation-hint", text: t.invitationHint }),
    ],
  );
}

function systemLine(seq: number, text: string): HTMLElement {
  return el("div", { class: "event", text, attrs: { "data-testid": "event", "data-seq": seq } });
}

/** A visitor message not yet confirmed by the server. */
export function renderPending(body: string, t: T): { root: HTMLElement; status: HTMLElement } {
  const text = el("div", { class: "body", attrs: { dir: "auto" } });
  renderText(text, body, { warning: t.linkWarning });
  const status = el("span", { class: "pending-status", text: t.sending });
  const root = el(
    "div",
    { class: "msg msg--visitor msg--pending", attrs: { "data-testid": "msg-pending", "data-author": "visitor" } },
    [el("div", { class: "meta" }, [el("span", { class: "author", text: t.you }), status]), text],
  );
  return { root, status };
}
