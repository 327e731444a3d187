import { useLayoutEffect, useRef } from "preact/hooks";
import { renderText } from "../shared/text";
import { t } from "./strings";

/**
 * Untrusted text rendered by shared/text.ts into an element Preact leaves alone: text nodes and
 * checked links only, never HTML. `dir="auto"`: Arabic or Hebrew text reads right-to-left.
 */
export function SafeText({ text, class: className = "body" }: { text: string; class?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (ref.current) renderText(ref.current, text, { warning: t.linkWarning });
  }, [text]);
  return <div class={className} dir="auto" ref={ref} />;
}
