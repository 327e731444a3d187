/**
 * widget.js: the embed loader that customers put on their pages.
 *
 *   <script async src="{BASE}/widget.js" data-bastion-widget="{WIDGET_ID}"></script>
 *
 * It adds a hidden iframe (the chat itself, served by Bastion) and a launcher button to the host
 * page. Everything is styled through the CSSOM, never through <style> or style attributes in
 * markup, so it works under a host page's strict Content Security Policy. It fetches nothing:
 * the frame tells it the theme colour. Messages to and from the frame are checked against the
 * frame's exact origin and window.
 *
 * The launcher stays hidden, and nothing is posted to the frame, until the frame itself says
 * `bastion:ready` from Bastion's exact origin (it does so once its configuration has loaded).
 * A frame the browser refused to render (a site not in the widget's allowed domains: CSP
 * frame-ancestors) never says it, so such a site shows no launcher at all.
 *
 * A site that knows its signed-in user may add `data-user-id` + `data-user-hash`, or
 * `data-identity-jwt`, to the script tag. They go to the frame only inside the init message
 * (to Bastion's origin), never in a URL.
 */

import { textOn } from "../shared/color";

// No dependencies on purpose (this file is measured in bytes); its one import, the text
// colour for the launcher, is a few lines of arithmetic.

type Msg = { type?: unknown; count?: unknown; color?: unknown; label?: unknown; storage?: unknown; value?: unknown };

(() => {
  const w = window as Window & { __bastionWidget?: boolean };
  const script = (document.currentScript ??
    document.querySelector("script[data-bastion-widget]")) as HTMLScriptElement | null;
  const widgetId = script?.getAttribute("data-bastion-widget");
  if (!script || !widgetId || w.__bastionWidget) return;
  w.__bastionWidget = true;

  const origin = new URL(script.src, location.href).origin;
  const doc = document;
  const Z = "2147483647";
  let open = false;
  let ready = false;

  const css = (el: HTMLElement | SVGElement, props: Record<string, string>) => {
    for (const k in props) el.style.setProperty(k, props[k]!);
  };

  // --- launcher button ------------------------------------------------------------------------
  const button = doc.createElement("button");
  button.id = "bastion-launcher";
  button.type = "button";
  button.setAttribute("aria-label", "Chat");
  button.setAttribute("aria-controls", "bastion-frame");
  button.setAttribute("aria-expanded", "false");
  css(button, {
    position: "fixed",
    width: "56px",
    height: "56px",
    margin: "0",
    padding: "0",
    border: "0",
    "border-radius": "50%",
    background: "#2f6fed",
    color: "#fff",
    cursor: "pointer",
    "box-shadow": "0 4px 14px rgba(0,0,0,.25)",
    "z-index": Z,
    display: "none",
    "align-items": "center",
    "justify-content": "center",
  });

  const NS = "http://www.w3.org/2000/svg";
  const svg = doc.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = doc.createElementNS(NS, "path");
  path.setAttribute("fill", "currentColor");
  const CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
  const CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  path.setAttribute("d", CHAT);
  svg.appendChild(path);
  button.appendChild(svg);

  const badge = doc.createElement("span");
  css(badge, {
    position: "absolute",
    top: "-4px",
    right: "-4px",
    "min-width": "20px",
    height: "20px",
    padding: "0 5px",
    "box-sizing": "border-box",
    "border-radius": "10px",
    background: "#d93025",
    color: "#fff",
    font: "600 12px/20px system-ui,sans-serif",
    "text-align": "center",
    display: "none",
  });
  button.appendChild(badge);

  // --- the chat frame -------------------------------------------------------------------------
  const frame = doc.createElement("iframe");
  frame.id = "bastion-frame";
  frame.title = "Chat";
  frame.referrerPolicy = "origin";
  frame.src = `${origin}/widget/frame?w=${encodeURIComponent(widgetId)}`;
  css(frame, {
    position: "fixed",
    border: "0",
    background: "#fff",
    "color-scheme": "normal",
    "z-index": Z,
    display: "none",
  });

  const small = matchMedia("(max-width: 480px)");
  // On a phone, a host page that overflows sideways widens (and lengthens) the layout viewport
  // that `position: fixed` and `100%` refer to, past the screen: the full-screen panel and the
  // launcher are placed in viewport units, which stay the size of the screen. The `100%` caps
  // keep a desktop scroll bar (which 100vw includes) from hiding their edge.
  const vh = CSS.supports("height: 1dvh") ? "dvh" : "vh";
  const W = "min(100vw,100%)";
  const H = `min(100${vh},100%)`;
  const layout = () => {
    const full = small.matches;
    css(frame, {
      left: full ? "0" : "auto",
      top: full ? "0" : "auto",
      right: full ? "auto" : "20px",
      bottom: full ? "auto" : "88px",
      width: full ? W : "380px",
      height: full ? H : "560px",
      "max-height": full ? "none" : "calc(100% - 108px)",
      "max-width": full ? "none" : "calc(100% - 40px)",
      "border-radius": full ? "0" : "12px",
      "box-shadow": full ? "none" : "0 8px 30px rgba(0,0,0,.2)",
    });
    // Hidden until the frame works. Full screen: the panel covers the button; the frame's own
    // minimise button closes it.
    css(button, {
      display: ready && !(full && open) ? "flex" : "none",
      left: full ? `calc(${W} - 76px)` : "auto",
      top: full ? `calc(${H} - 76px)` : "auto",
      right: full ? "auto" : "20px",
      bottom: full ? "auto" : "20px",
    });
  };
  small.addEventListener("change", layout);

  // Never to a frame that has not said it is ready (a blocked frame's origin is not Bastion's).
  const post = (data: object) => ready && frame.contentWindow?.postMessage(data, origin);
  const page = () => ({ url: location.href, title: doc.title, referrer: doc.referrer });
  const identity = () => {
    const id: Record<string, string> = {};
    for (const k of ["user_id", "user_hash", "identity_jwt"]) {
      const v = script.getAttribute("data-" + k.replace("_", "-"));
      if (v) id[k] = v;
    }
    return id;
  };

  // The frame's saved state, for a frame without storage of its own (bastion:ready says so).
  const storeKey = `bastion:v1:${widgetId}`;
  let keepsHere = false;
  const load = () => {
    try {
      return localStorage.getItem(storeKey);
    } catch {
      return null;
    }
  };

  // Another tab of this site saved a newer state (its session rotated the token): pass it on.
  addEventListener("storage", (e: StorageEvent) => {
    if (keepsHere && e.key === storeKey) post({ type: "bastion:saved", value: e.newValue });
  });

  const setOpen = (value: boolean) => {
    if (open === value) return;
    open = value;
    css(frame, { display: open ? "block" : "none" });
    button.setAttribute("aria-expanded", String(open));
    path.setAttribute("d", open ? CLOSE : CHAT);
    layout();
    post({ type: "bastion:visible", visible: open });
    if (open) frame.focus();
    else if (doc.activeElement === frame || small.matches) button.focus();
  };

  button.addEventListener("click", () => setOpen(!open));

  addEventListener("message", (e: MessageEvent) => {
    // Only our own frame, from Bastion's exact origin.
    if (e.origin !== origin || e.source !== frame.contentWindow) return;
    const m = e.data as Msg;
    if (!m || typeof m !== "object") return;
    if (m.type === "bastion:open") setOpen(true);
    else if (m.type === "bastion:close") setOpen(false);
    else if (m.type === "bastion:unread") {
      const n = typeof m.count === "number" && m.count > 0 ? Math.min(Math.floor(m.count), 99) : 0;
      badge.textContent = n ? String(n) : "";
      css(badge, { display: n ? "block" : "none" });
      // The button's name (its aria-label) is what a screen reader says, never the badge.
      if (typeof m.label === "string" && m.label.length < 40) button.setAttribute("aria-label", m.label);
    } else if (m.type === "bastion:theme" || m.type === "bastion:ready") {
      // A colour value only: nothing that could make the host page load a URL.
      if (typeof m.color === "string" && /^#[0-9a-f]{6}$/i.test(m.color)) {
        // The icon in whichever of white and dark reads better on the colour (#ffffff too).
        css(button, { background: m.color, color: textOn(m.color) });
      }
      if (typeof m.label === "string" && m.label.length < 40) button.setAttribute("aria-label", m.label);
      if (m.type === "bastion:ready") {
        // The frame works: show the launcher. Every ready (a reloaded frame says it again) gets
        // the host page and the identity statement, to Bastion's exact origin only.
        ready = true;
        layout();
        // A frame the browser gives no storage keeps its state here (its one key only).
        keepsHere = m.storage === "parent";
        post({ type: "bastion:init", page: page(), visible: open, identity: identity(), saved: keepsHere ? load() : null });
      }
    } else if (m.type === "bastion:save" && keepsHere && typeof m.value === "string" && m.value.length <= 2048) {
      try {
        localStorage.setItem(storeKey, m.value);
      } catch {
        // The host page has no storage either: the chat lasts this page.
      }
    }
  });

  // Single-page sites: tell the frame about history navigation.
  let last = location.href;
  const navigated = () => {
    if (location.href === last) return;
    last = location.href;
    post({ type: "bastion:page", page: page() });
  };
  const push = history.pushState;
  history.pushState = function (this: History, ...args: Parameters<History["pushState"]>) {
    push.apply(this, args);
    navigated();
  };
  addEventListener("popstate", navigated);
  addEventListener("hashchange", navigated);

  const mount = () => {
    layout();
    doc.body.appendChild(frame);
    doc.body.appendChild(button);
  };
  if (doc.body) mount();
  else doc.addEventListener("DOMContentLoaded", mount);
})();

export {};
