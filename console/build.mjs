// Bundles the console's front end into dist/ (index.html, app.js, app.css), which the server embeds. Run by the
// server's build (src/Quiver.Server/Quiver.Server.csproj) from the packages `npm ci` installed; fetches nothing.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

await rm("dist", { recursive: true, force: true });
await mkdir("dist", { recursive: true });
await build({
  entryPoints: { app: "src/main.jsx" },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: "dist",
  legalComments: "eof",
  logLevel: "warning",
});
await copyFile("src/index.html", "dist/index.html");
