// Copies Swagger UI into the build so /api/docs works offline under a strict CSP (no CDN).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";

const out = resolve(process.argv[2] ?? "../src/bastion/web_dist/apidocs");
const require = createRequire(import.meta.url);
const dist = dirname(require.resolve("swagger-ui-dist/package.json"));
mkdirSync(out, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  copyFileSync(join(dist, file), join(out, file));
}
