// Bundles src/ into dist/: one ES module (app.js), one stylesheet, index.html.
// Everything the page loads comes from dist/, so the console needs no CDN and
// works under the server's CSP (script-src 'self', style-src 'self').
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "dist");

await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
await copyFile(join(here, "src", "index.html"), join(out, "index.html"));
await copyFile(join(here, "src", "app.css"), join(out, "app.css"));
