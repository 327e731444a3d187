import { defineConfig } from "vitest/config";
import { oxcJsx } from "./vite.shared";

export default defineConfig({
  oxc: oxcJsx,
  test: {
    include: ["tests/**/*.test.ts", "tests/**/*.test.tsx"],
    environment: "happy-dom",
  },
});
