/** widget.js: the embed loader, one small IIFE with no dependencies. */
import { defineConfig } from "vite";
import { distDir, here, target } from "./vite.shared.ts";

export default defineConfig({
  publicDir: false,
  build: {
    outDir: distDir,
    emptyOutDir: false,
    target,
    minify: "oxc",
    sourcemap: false,
    copyPublicDir: false,
    reportCompressedSize: true,
    lib: {
      entry: here("./widget/loader.ts"),
      name: "BastionWidget",
      formats: ["iife"],
      fileName: () => "widget.js",
    },
  },
});
