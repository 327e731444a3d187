/** The agent console: a Preact single-page app served at /console/. */
import { defineConfig } from "vite";
import { distDir, here, oxcJsx, target } from "./vite.shared.ts";

export default defineConfig({
  root: here("./console"),
  base: "/console/",
  publicDir: false,
  oxc: oxcJsx,
  build: {
    outDir: `${distDir}/console`,
    emptyOutDir: false,
    target,
    sourcemap: false,
    modulePreload: { polyfill: false },
    // Inlined assets become data: URLs, which a strict CSP (img-src 'self') would refuse.
    assetsInlineLimit: 0,
    rolldownOptions: {
      input: here("./console/index.html"),
    },
  },
});
