/** The widget frame: served at /widget/frame, assets under /widget/assets/. No framework. */
import { defineConfig } from "vite";
import { distDir, here, target } from "./vite.shared.ts";

export default defineConfig({
  root: here("./widget/frame"),
  base: "/widget/",
  publicDir: false,
  build: {
    outDir: `${distDir}/widget`,
    emptyOutDir: false,
    target,
    sourcemap: false,
    // The polyfill would be one more script to allow; every target browser supports modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rolldownOptions: {
      // Named frame.html so the output is widget/frame.html directly.
      input: here("./widget/frame/frame.html"),
    },
  },
});
