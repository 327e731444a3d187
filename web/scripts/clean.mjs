// Empties the build output folder (argument 1) so no stale bundle survives a build.
import { mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";

const target = process.argv[2];
if (!target) {
  console.error("usage: node scripts/clean.mjs DIR");
  process.exit(2);
}
const dir = resolve(target);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
