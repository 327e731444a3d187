/** The widget's public configuration, read from the server and given a shape the UI can rely on. */
import { requestJson } from "../../shared/http";
import { messageLimit } from "../../shared/limit";
import type { WidgetConfig } from "../../shared/protocol";

export function loadConfig(widget: string): Promise<WidgetConfig> {
  return requestJson<WidgetConfig>(`/api/v1/widgets/${encodeURIComponent(widget)}/config`, {
    credentials: "omit",
  }).then(normaliseConfig);
}

/** Fills in what an older or partial config may lack, so the UI code can rely on the shape. */
export function normaliseConfig(c: Partial<WidgetConfig>): WidgetConfig {
  return {
    id: typeof c.id === "string" ? c.id : "",
    name: typeof c.name === "string" ? c.name : "",
    color: typeof c.color === "string" ? c.color : "",
    greeting: typeof c.greeting === "string" ? c.greeting : null,
    language: typeof c.language === "string" ? c.language : null,
    // A text that is not a string is not set: the frame shows its own, translated.
    prechat_fields: Array.isArray(c.prechat_fields)
      ? c.prechat_fields
          .filter((f) => f && typeof f.name === "string" && f.name)
          .map((f) => ({ ...f, label: typeof f.label === "string" ? f.label : null }))
      : [],
    consent:
      c.consent && typeof c.consent === "object"
        ? { ...c.consent, text: typeof c.consent.text === "string" ? c.consent.text : null }
        : null,
    online: c.online !== false,
    files:
      c.files && typeof c.files === "object" && typeof c.files.max_bytes === "number"
        ? { max_bytes: c.files.max_bytes, types: Array.isArray(c.files.types) ? c.files.types : [] }
        : null,
    message_max_chars: messageLimit(c.message_max_chars),
  };
}
