/** Entry point of the widget frame (/widget/frame?w=WIDGET_ID). */
import "./frame.css";
import { lineOnWhite, textOn } from "../../shared/color";
import { ApiError } from "../../shared/http";
import { pickWidgetLanguage, widgetTables } from "../../shared/i18n";
import type { WidgetConfig } from "../../shared/protocol";
import { WidgetChat } from "./chat";
import { loadConfig } from "./config";
import { ParentBridge } from "./parent";
import { ParentStorage, safeLocalStorage, Store } from "./store";
import { buildView } from "./view";

const COLOR = /^#[0-9a-f]{3,8}$/iu;

async function main(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  // Listen for the loader's messages at once, so an old loader's early init is not missed.
  const parent = new ParentBridge();
  const widget = new URLSearchParams(location.search).get("w") ?? "";

  let config: WidgetConfig | null = null;
  let error: unknown = null;
  if (widget) {
    try {
      config = await loadConfig(widget);
    } catch (err) {
      error = err;
    }
  }
  const lang = pickWidgetLanguage(config?.language, navigator.language);
  const t = widgetTables[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  const view = buildView(root, t);

  if (!config) {
    view.notice.textContent =
      !widget || (error instanceof ApiError && error.status === 404) ? t.errNoWidget : t.errUnavailable;
    view.notice.hidden = false;
    view.footer.hidden = true;
    return;
  }

  if (COLOR.test(config.color)) {
    // A custom property set through the CSSOM: allowed by style-src 'self'.
    const root = document.documentElement.style;
    root.setProperty("--accent", config.color);
    root.setProperty("--on-accent", textOn(config.color));
    root.setProperty("--accent-line", lineOnWhite(config.color));
  }
  // The frame works: the loader may now show its launcher and send the init.
  const theme = { color: COLOR.test(config.color) ? config.color : null, label: t.launcherLabel };
  // No storage of its own (a frame from another site with third-party storage blocked): the
  // loader keeps the visitor's state in the host page's storage, or the chat is lost at reload.
  const ownStorage = safeLocalStorage();
  parent.announce(ownStorage ? theme : { ...theme, storage: "parent" });
  const init = await parent.ready;
  // Also as its own message, for a cached loader from before the ready handshake.
  parent.post({ type: "bastion:theme", ...theme });

  const chat = new WidgetChat({
    widget,
    config,
    t,
    lang,
    view,
    store: new Store(widget, ownStorage ?? hostStorage(parent, init.saved)),
    parent,
    page: init.page,
    visible: init.visible,
    identity: init.identity,
  });
  await chat.start();
}

/** The state kept by the loader on the host page, followed across the host site's tabs. */
function hostStorage(parent: ParentBridge, saved: string | null): ParentStorage | null {
  if (!parent.isEmbedded) return null;
  const storage = new ParentStorage(saved, (value) => parent.post({ type: "bastion:save", value }));
  parent.onSaved = (value) => storage.replace(value);
  return storage;
}

void main();
