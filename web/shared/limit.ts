/**
 * The longest message, as widget and console show it: a counter near the limit and an error
 * over it, never text cut off. The server says its limit (`message_max_chars` in the widget
 * config and in /auth/me); the default is the server's own default.
 */

/** `BASTION_MESSAGE_MAX_CHARS`'s default, for a server that does not say its limit. */
export const DEFAULT_MESSAGE_MAX_CHARS = 4000;

/** The counter appears from this share of the limit. */
const COUNTER_FROM = 0.9;

export interface Length {
  /** Characters left (negative: too many). */
  left: number;
  /** Near the limit or over it: show the counter. */
  near: boolean;
  over: boolean;
}

/** The limit a server said, or the default when it said nothing usable. */
export function messageLimit(said: unknown): number {
  return typeof said === "number" && Number.isInteger(said) && said > 0 ? said : DEFAULT_MESSAGE_MAX_CHARS;
}

/**
 * How `text` (as it will be sent: trimmed) stands against `max`. Counted in code points, as
 * the server counts (an emoji is one character, not two UTF-16 units).
 */
export function measure(text: string, max: number): Length {
  const count = [...text.trim()].length;
  return { left: max - count, near: count >= max * COUNTER_FROM, over: count > max };
}
