import { defineConfig } from "vitest/config";
import { oxcJsx } from "./vite.shared.ts";

export default defineConfig({
  oxc: oxcJsx,
  test: {
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
    environment: "happy-dom",
  },
});
