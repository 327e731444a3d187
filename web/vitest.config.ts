import { defineConfig } from "vitest/config";
import { oxcJsx } from "./vite.shared.ts";

export default defineConfig({
  oxc: oxcJsx,
  test: {
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
    environment: "happy-dom",
    // The widget's stylesheet is read as text by tests of rules that only CSS can keep.
    css: { include: [/widget\/frame\/frame\.css/u] },
  },
});
