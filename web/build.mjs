// Bundle src/ into ../api/static (committed, served by the app): a fresh `pip install` of the
// service then needs neither npm nor network. Hashed file names, so browsers never mix versions.
//   npm ci && npm run build
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, "src");
const out = path.resolve(here, "../api/static");

/** sha256 over the sources and the lock file: tests compare it with build-info.json. */
export async function sourceDigest() {
  const hash = createHash("sha256");
  const files = (await readdir(src, { recursive: true })).filter((f) => /\.(js|css|html)$/.test(f)).sort();
  for (const f of [...files.map((f) => path.join("src", f)), "package-lock.json", "build.mjs"]) {
    hash.update(f.replaceAll(path.sep, "/")).update("\0").update(await readFile(path.join(here, f))).update("\0");
  }
  return hash.digest("hex");
}

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await esbuild.build({
  // the page, and GraphiQL for /graphql (React and its CSS included: no CDN at run time)
  entryPoints: { main: path.join(src, "main.js"), graphiql: path.join(src, "graphiql.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022"],
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  legalComments: "linked",
  logLevel: "info",
  define: { "process.env.NODE_ENV": '"production"' }, // React's production build
});
const built = {};
for (const file of Object.keys(result.metafile.outputs)) {
  const name = path.basename(file);
  const [stem] = name.split("-");
  built[stem + name.slice(name.indexOf("."))] = name; // main.js, graphiql.css, graphiql.js.LEGAL.txt, …
}
for (const page of ["index.html", "graphiql.html"]) {
  const html = await readFile(path.join(src, page), "utf8");
  await writeFile(path.join(out, page), html.replace(/\{\{(\w+\.(?:js|css))\}\}/g, (_, key) => built[key]));
}
await writeFile(
  path.join(out, "build-info.json"),
  JSON.stringify({ sources_sha256: await sourceDigest(), files: built }, null, 2) + "\n",
);
