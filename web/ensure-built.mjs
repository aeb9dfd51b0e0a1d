// Builds the admin app (web/ → web/dist) when the build is missing or older than its sources.
// Runs on `npm install` (prepare) and before `npm start`, so a fresh clone needs no extra command.
import fs from "node:fs";
import path from "node:path";

const root = import.meta.dirname;
const marker = path.join(root, "dist", "index.html");

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(p)) max = Math.max(max, newest(path.join(p, e)));
  return max;
}

const sources = ["src", "index.html", "vite.config.ts"].map((f) => path.join(root, f));
const built = fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0;
const force = process.argv.includes("--force");
if (force || built < Math.max(...sources.map(newest))) {
  const { build } = await import("vite");
  await build({ configFile: path.join(root, "vite.config.ts"), logLevel: "info" });
}
