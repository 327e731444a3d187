import { describe, expect, it } from "vitest";
import { widgetTables } from "../shared/i18n";
import { buildPrechat } from "../widget/frame/view";
import { config } from "./frame-harness";

describe("the pre-chat form's opening words", () => {
  const t = widgetTables.en;

  it("promises a quick answer only while someone is online", () => {
    const online = buildPrechat({ ...config, online: true }, t);
    expect(online.textContent).toContain(t.prechatIntro);
    expect(online.textContent).not.toContain(t.offline);
    const offline = buildPrechat({ ...config, online: false }, t);
    expect(offline.textContent).toContain(t.offline);
    expect(offline.textContent).not.toContain(t.prechatIntro);
  });
});
