/** Settings shared by the three Vite builds (loader, widget frame, console). */
import { fileURLToPath } from "node:url";

export const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Everything is built into the Python package, which serves it. */
export const distDir = here("../src/bastion/web_dist");

/** Browsers we build for: evergreen ones from the last few years. */
export const target = ["es2022", "chrome111", "firefox114", "safari16.4"];

/** JSX for Preact without a Vite plugin: the automatic runtime from preact/jsx-runtime. */
export const oxcJsx = {
  jsx: { runtime: "automatic", importSource: "preact" },
} as const;
