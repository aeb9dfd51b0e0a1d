import { execFile, spawn } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import fs from "node:fs/promises";
import { promisify } from "node:util";
import pg from "pg";
import { migrate } from "../db/migrate.js";

/**
 * `keel backup` against DATABASE_URL uses PostgreSQL's own pg_dump when one
 * at least as new as the server is installed (pg_dump refuses an older
 * server's peer: "aborting because of server version mismatch"), in its
 * custom format; `keel restore` gives such a file to pg_restore. Otherwise
 * Keel's logical backup is used (src/backup/dump.ts).
 */
const exec = promisify(execFile);

export interface PgTool {
  path: string;
  major: number;
  version: string;
}

/** The major version a `pg_dump --version` line names: "pg_dump (PostgreSQL) 15.20 (Debian …)" → 15. */
export function majorOf(versionLine: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  return m ? Number(m[1]) : undefined;
}

/** Every pg_dump (or pg_restore) on PATH and in Debian's /usr/lib/postgresql/N/bin, newest first. */
export async function installedTools(name: "pg_dump" | "pg_restore"): Promise<PgTool[]> {
  const candidates = new Set<string>();
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    if (existsSync(`${dir}/${name}`)) candidates.add(`${dir}/${name}`);
  }
  for (const v of await fs.readdir("/usr/lib/postgresql").catch(() => [] as string[])) {
    const p = `/usr/lib/postgresql/${v}/bin/${name}`;
    if (existsSync(p)) candidates.add(p);
  }
  const tools: PgTool[] = [];
  for (const path of candidates) {
    try {
      const { stdout } = await exec(path, ["--version"]);
      const major = majorOf(stdout);
      if (major !== undefined) tools.push({ path, major, version: stdout.trim() });
    } catch {
      // not runnable: not a candidate
    }
  }
  return tools.sort((a, b) => b.major - a.major);
}

/** The newest tool whose major version is at least the server's, or undefined. */
export function pickTool(tools: PgTool[], serverMajor: number): PgTool | undefined {
  const best = tools[0];
  return best && best.major >= serverMajor ? best : undefined;
}

export async function serverMajor(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
    return Math.floor(Number(r.rows[0].v) / 10000);
  } finally {
    await client.end();
  }
}

function run(tool: string, args: string[], onLine?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ["ignore", "ignore", "pipe"] });
    let tail = "";
    let partial = "";
    child.stderr.on("data", (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        onLine?.(line);
        tail = `${tail}${line}\n`.slice(-2000);
      }
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${tool} exited ${code}: ${tail.trim().split("\n").slice(-3).join(" | ")}`)),
    );
  });
}

/** pg_dump in custom format to `out` (written as `out.partial`, renamed when complete); progress by table. */
export async function pgDumpBackup(
  url: string,
  out: string,
  tool: PgTool,
  onProgress?: (done: number, tables: number) => void,
): Promise<{ tables: number; ms: number }> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const tables = Number(
    (
      await client.query<{ n: string }>(
        "select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'p')",
      )
    ).rows[0].n,
  );
  await client.end();
  const partial = `${out}.partial`;
  let done = 0;
  try {
    await run(
      tool.path,
      ["--format=custom", "--no-owner", "--verbose", `--file=${partial}`, `--dbname=${url}`],
      (line) => {
        if (/dumping contents of table/.test(line)) onProgress?.(++done, tables);
      },
    );
    await fs.rename(partial, out);
  } catch (err) {
    await fs.rm(partial, { force: true });
    throw err;
  }
  return { tables, ms: Math.round(performance.now() - started) };
}

/** True when the file is a pg_dump custom-format archive ("PGDMP"). */
export async function isPgDumpArchive(file: string): Promise<boolean> {
  const stream = createReadStream(file, { start: 0, end: 4 });
  const chunks: Buffer[] = [];
  try {
    for await (const c of stream) chunks.push(c as Buffer);
  } catch {
    return false;
  }
  return Buffer.concat(chunks).toString("latin1") === "PGDMP";
}

/**
 * pg_restore into `url` in one transaction (nothing stays when it fails); with
 * `replace` the objects it restores are dropped first. Then the migrations this
 * Keel has that the dump did not.
 */
export async function pgRestore(
  url: string,
  file: string,
  tool: PgTool,
  opts: { replace?: boolean; onProgress?: (line: string) => void } = {},
): Promise<{ upgraded: string[]; ms: number }> {
  const started = performance.now();
  const args = ["--no-owner", "--single-transaction", "--exit-on-error", "--verbose", `--dbname=${url}`];
  if (opts.replace) args.push("--clean", "--if-exists");
  await run(tool.path, [...args, file], (line) => opts.onProgress?.(line));
  const { applied } = await migrate(url);
  return { upgraded: applied, ms: Math.round(performance.now() - started) };
}
