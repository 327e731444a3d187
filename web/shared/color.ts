/**
 * Readable colours over an admin's widget colour. The widget's header, the visitor's own
 * messages, the primary button and the launcher are the admin's colour with text on it;
 * white text on a light colour (#ffffff, a pale yellow) vanished. The text colour is
 * whichever of white and the widget's dark text has the better contrast (WCAG 2 relative
 * luminance), and where the colour itself draws a line on white (focus rings, links) a
 * colour too light for that is replaced by the dark text colour.
 */

export const LIGHT_TEXT = "#ffffff";
export const DARK_TEXT = "#1d2129";

function channel(hex: string): number {
  const c = parseInt(hex, 16) / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Relative luminance of `#rrggbb` (0 black … 1 white). */
export function luminance(color: string): number {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return 0;
  return 0.2126 * channel(m[1]!) + 0.7152 * channel(m[2]!) + 0.0722 * channel(m[3]!);
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The text colour to put on `background`: white or the dark text, whichever reads better. */
export function textOn(background: string): string {
  return contrast(background, LIGHT_TEXT) >= contrast(background, DARK_TEXT) ? LIGHT_TEXT : DARK_TEXT;
}

/** `color` where it draws lines and links on white, if visible there (3:1); else the dark text. */
export function lineOnWhite(color: string): string {
  return contrast(color, LIGHT_TEXT) >= 3 ? color : DARK_TEXT;
}
