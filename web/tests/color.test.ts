import { describe, expect, it } from "vitest";
import { contrast, DARK_TEXT, LIGHT_TEXT, lineOnWhite, textOn } from "../shared/color";

describe("readable colours over a widget colour", () => {
  it("puts white on dark and saturated colours, dark text on light ones", () => {
    for (const dark of ["#2f6fed", "#000000", "#0a7d3b", "#c5221f", "#6b21a8"]) expect(textOn(dark)).toBe(LIGHT_TEXT);
    for (const light of ["#ffffff", "#ffff66", "#f5f6f8", "#a7f3d0", "#ffd700"]) expect(textOn(light)).toBe(DARK_TEXT);
  });

  it("always picks the better of the two, at least 4:1 even on mid-tones (4.5:1 and more on most)", () => {
    for (const bg of ["#2f6fed", "#ffffff", "#ffff66", "#0a7d3b", "#808080", "#ff8800"]) {
      const other = textOn(bg) === LIGHT_TEXT ? DARK_TEXT : LIGHT_TEXT;
      expect(contrast(bg, textOn(bg))).toBeGreaterThanOrEqual(contrast(bg, other));
      expect(contrast(bg, textOn(bg))).toBeGreaterThanOrEqual(4);
    }
  });

  it("keeps the colour for lines on white only where it shows", () => {
    expect(lineOnWhite("#2f6fed")).toBe("#2f6fed");
    expect(lineOnWhite("#ffffff")).toBe(DARK_TEXT);
    expect(lineOnWhite("#ffff66")).toBe(DARK_TEXT);
  });
});
