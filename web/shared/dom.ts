/**
 * A tiny element builder for the dependency-free widget frame. It sets attributes and text
 * only: no HTML strings, no inline styles, no inline event handlers.
 */

export interface ElProps {
  class?: string;
  text?: string;
  attrs?: Record<string, string | number | boolean | null | undefined>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElProps = {},
  children: (Node | null | undefined | false)[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    // Inline styles and handlers are forbidden by our CSP and by design.
    if (name === "style" || name.toLowerCase().startsWith("on")) throw new Error(`attribute ${name} not allowed`);
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.appendChild(child);
  return node;
}
