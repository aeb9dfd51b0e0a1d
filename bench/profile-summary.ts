/**
 * `tsx bench/profile-summary.ts <file.cpuprofile>… [top]`: the functions with
 * the most self time in a V8 CPU profile (as written with BENCH_PROF), and the
 * share of time by package, so a profile can be read without DevTools. Given
 * several files (a glob also matches the profile of tsx's loader thread), it
 * reads the largest: the API's main thread.
 */
import { readFileSync, statSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const topArg = args.find((a) => /^\d+$/.test(a));
const files = args.filter((a) => a !== topArg);
if (files.length === 0) {
  process.stderr.write("usage: tsx bench/profile-summary.ts <file.cpuprofile>… [top]\n");
  process.exit(2);
}
const file = files.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a));
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (const [i, id] of profile.samples.entries())
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

function where(url: string): string {
  if (!url) return "(native)";
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  if (url.startsWith("node:")) return "node";
  const src = url.match(/\/(src|bench)\/(.+)$/);
  return src ? `${src[1]}/${src[2].split("/")[0]}` : url;
}

const fns = new Map<string, number>();
const pkgs = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const name = `${functionName || "(anonymous)"} ${where(url)}${url ? `:${lineNumber + 1}` : ""}`;
  fns.set(name, (fns.get(name) ?? 0) + us);
  pkgs.set(where(url), (pkgs.get(where(url)) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const top = Number(topArg ?? 25);
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nby package\n`);
for (const [k, v] of [...pkgs].sort((a, b) => b[1] - a[1]).slice(0, 15))
  process.stdout.write(`${pct(v)}  ${k}\n`);
process.stdout.write("\nby function (self time)\n");
for (const [k, v] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${pct(v)}  ${k}\n`);
