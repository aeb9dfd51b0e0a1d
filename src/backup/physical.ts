import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip, createGzip } from "node:zlib";
import pg from "pg";
import { FrameReader, FrameWriter } from "./format.js";

/**
 * A hot physical backup of the embedded server through PostgreSQL's low-level
 * API (the recipe in shared/reference/governance.md §5): a temporary
 * replication slot pins the WAL, `pg_backup_start` on a connection held to the
 * end, a copy of the data directory while it keeps changing, `pg_backup_stop`,
 * then the WAL from the start segment to the stop segment and the backup
 * label. Restored, PostgreSQL replays that WAL to the stop point: what was
 * committed before the backup ended is in the copy. Same major version and
 * architecture only; `--logical` crosses versions.
 *
 *   KEEL-PHYSICAL 1\n
 *   {"manifest": {...}}\n              server, schema and row counts at the start
 *   {"dir": "base/5", "mode": 448}\n
 *   {"file": "base/5/1259", "mode": 384}\n then {"chunk": n}\n<n bytes>… {"eof": size}\n
 *   …
 *   {"end": {"files": 1234, "bytes": 5678, "stop_lsn": "0/3000100"}}\n
 */
export const PHYSICAL_MAGIC = "KEEL-PHYSICAL 1";

export interface PhysicalManifest {
  format: "keel-physical";
  created_at: string;
  server_version: string;
  keel_version: string;
  migrations: string[];
  start_lsn: string;
  /** Rows per table when the backup started (it also holds what committed until it ended). */
  rows_at_start: Record<string, number>;
}

type PhysicalFrame =
  | { manifest: PhysicalManifest }
  | { dir: string; mode: number }
  | { file: string; mode: number }
  | { chunk: number }
  | { eof: number }
  | { end: { files: number; bytes: number; stop_lsn: string } };

/** What PostgreSQL's documentation says not to copy: rebuilt at start, or WAL that comes separately. */
const SKIP_CONTENTS = new Set([
  "pg_wal",
  "pg_replslot",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_stat_tmp",
  "pg_subtrans",
]);
const SKIP_FILES = new Set(["postmaster.pid", "postmaster.opts", "pg_internal.init", "backup_label.old"]);

export interface PhysicalProgress {
  bytes: number;
  files: number;
  /** Bytes of the data directory when the copy started, for a progress bar. */
  total: number;
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_CONTENTS.has(entry.name)) total += await dirSize(p);
    } else if (entry.isFile()) total += (await fs.stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

export async function physicalBackup(
  url: string,
  pgDir: string,
  out: string,
  opts: {
    keelVersion: string;
    onProgress?: (p: PhysicalProgress) => void;
    /** Called when pg_backup_stop has returned: everything committed before this is in the backup. */
    onStopped?: () => void;
  },
): Promise<{ manifest: PhysicalManifest; files: number; bytes: number; stopLsn: string; ms: number }> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const partial = `${out}.partial`;
  try {
    const slot = `keel_backup_${randomBytes(4).toString("hex")}`;
    // temporary: dropped with this connection, whatever happens to the backup
    await client.query("select pg_create_physical_replication_slot($1, true, true)", [slot]);
    const version = (await client.query<{ v: string }>("select current_setting('server_version') as v"))
      .rows[0].v;
    const migrations = (
      await client.query<{ name: string }>("select name from schema_migrations order by name")
    ).rows.map((r) => r.name);
    const counts = await client.query<{ name: string; n: string }>(`
      select c.relname as name, (xpath('/row/n/text()',
        query_to_xml(format('select count(*) as n from %I', c.relname), false, true, '')))[1]::text as n
      from pg_class c join pg_namespace s on s.oid = c.relnamespace and s.nspname = 'public'
      where c.relkind in ('r', 'p') and not c.relispartition order by 1`);
    const start = (
      await client.query<{ lsn: string; wal: string }>(
        "select lsn::text, pg_walfile_name(lsn) as wal from pg_backup_start($1, true) as lsn",
        [`keel backup ${new Date().toISOString()}`],
      )
    ).rows[0];
    const manifest: PhysicalManifest = {
      format: "keel-physical",
      created_at: new Date().toISOString(),
      server_version: version,
      keel_version: opts.keelVersion,
      migrations,
      start_lsn: start.lsn,
      rows_at_start: Object.fromEntries(counts.rows.map((r) => [r.name, Number(r.n)])),
    };

    const gzip = createGzip({ level: 1 });
    const file = createWriteStream(partial, { mode: 0o600 });
    const done = pipeline(gzip, file);
    const w = new FrameWriter(gzip);
    const frame = (f: PhysicalFrame) => w.header(f as never);
    await w.raw(`${PHYSICAL_MAGIC}\n`);
    await frame({ manifest });
    const progress: PhysicalProgress = { bytes: 0, files: 0, total: await dirSize(pgDir) };

    const copyFile = async (abs: string, rel: string, mode: number) => {
      await frame({ file: rel, mode });
      let size = 0;
      try {
        // the file may grow or shrink while it is read: what is read is what PostgreSQL's WAL replay starts from
        for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) {
          await w.chunk(chunk as Buffer);
          size += (chunk as Buffer).length;
          progress.bytes += (chunk as Buffer).length;
        }
      } catch (err) {
        // removed during the copy (a dropped table, a finished temporary file): replay recreates what matters
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      await frame({ eof: size });
      progress.files++;
      opts.onProgress?.(progress);
    };

    const walk = async (absDir: string, relDir: string): Promise<void> => {
      for (const entry of await fs.readdir(absDir, { withFileTypes: true }).catch(() => [])) {
        const abs = path.join(absDir, entry.name);
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          const st = await fs.stat(abs).catch(() => undefined);
          if (!st) continue;
          await frame({ dir: rel, mode: st.mode & 0o777 });
          if (!SKIP_CONTENTS.has(rel) && !rel.startsWith("pgsql_tmp")) await walk(abs, rel);
        } else if (entry.isFile()) {
          if (SKIP_FILES.has(entry.name) || entry.name.startsWith("pgsql_tmp")) continue;
          if (relDir === "" && entry.name === "backup_label") continue;
          const st = await fs.stat(abs).catch(() => undefined);
          if (st) await copyFile(abs, rel, st.mode & 0o777);
        }
      }
    };
    await walk(pgDir, "");

    const stop = (
      await client.query<{ lsn: string; wal: string; labelfile: string; spcmapfile: string }>(
        "select lsn::text, pg_walfile_name(lsn) as wal, labelfile, spcmapfile from pg_backup_stop(false)",
      )
    ).rows[0];
    opts.onStopped?.();
    // the WAL from the segment the backup started in to the one it stopped in (names sort in order)
    const walDir = path.join(pgDir, "pg_wal");
    const segments = (await fs.readdir(walDir))
      .filter((n) => /^[0-9A-F]{24}$/.test(n) && n >= start.wal && n <= stop.wal)
      .sort();
    if (segments[0] !== start.wal || segments.at(-1) !== stop.wal)
      throw new Error(`the WAL from ${start.wal} to ${stop.wal} is not all in ${walDir}`);
    for (const s of segments) await copyFile(path.join(walDir, s), `pg_wal/${s}`, 0o600);
    for (const [name, text] of [
      ["backup_label", stop.labelfile],
      ["tablespace_map", stop.spcmapfile],
    ] as const) {
      if (!text) continue;
      await frame({ file: name, mode: 0o600 });
      await w.chunk(Buffer.from(text));
      await frame({ eof: Buffer.byteLength(text) });
    }
    await frame({ end: { files: progress.files, bytes: progress.bytes, stop_lsn: stop.lsn } });
    gzip.end();
    await done;
    await fs.rename(partial, out);
    return {
      manifest,
      files: progress.files,
      bytes: progress.bytes,
      stopLsn: stop.lsn,
      ms: Math.round(performance.now() - started),
    };
  } catch (err) {
    await fs.rm(partial, { force: true });
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

/** True when the file starts as a physical backup (else it may be a logical one). */
export async function isPhysicalBackup(file: string): Promise<boolean> {
  const r = new FrameReader(createReadStream(file).pipe(createGunzip()));
  try {
    return (await r.line()) === PHYSICAL_MAGIC;
  } catch {
    return false;
  }
}

const exec = promisify(execFile);

/**
 * Writes a physical backup into `pgDir`, which must not exist (or be empty):
 * the server is then started on it and replays the WAL to the backup's end.
 * As root, the files belong to the `postgres` user the embedded server runs as.
 */
export async function physicalRestore(
  file: string,
  pgDir: string,
  opts: { onProgress?: (p: { bytes: number; files: number }) => void } = {},
): Promise<{ manifest: PhysicalManifest; files: number; bytes: number; stopLsn: string }> {
  if (existsSync(pgDir) && (await fs.readdir(pgDir)).length > 0)
    throw new Error(`${pgDir} is not empty: restore into a new data directory (or use --replace)`);
  await fs.mkdir(pgDir, { recursive: true, mode: 0o700 });
  const r = new FrameReader(createReadStream(file).pipe(createGunzip()));
  if ((await r.line()) !== PHYSICAL_MAGIC) throw new Error(`${file} is not a Keel physical backup`);
  const next = async () => (await r.frame()) as unknown as PhysicalFrame | null;
  const first = await next();
  if (!first || !("manifest" in first)) throw new Error("the backup has no manifest");
  const inside = (rel: string) => {
    const abs = path.resolve(pgDir, rel);
    if (!abs.startsWith(`${path.resolve(pgDir)}${path.sep}`))
      throw new Error(`a path outside the data directory: ${rel}`);
    return abs;
  };
  let files = 0;
  let bytes = 0;
  for (;;) {
    const f = await next();
    if (f === null) throw new Error("the backup ends before its end frame: it is truncated");
    if ("end" in f) {
      if (f.end.files !== files - (await labelFiles(pgDir)))
        throw new Error(`the backup says ${f.end.files} files, it holds ${files}`);
      await fs.chmod(pgDir, 0o700);
      for (const d of SKIP_CONTENTS) await fs.mkdir(path.join(pgDir, d), { recursive: true, mode: 0o700 });
      if (process.getuid?.() === 0) {
        const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
          exec("id", ["-u", "postgres"]),
          exec("id", ["-g", "postgres"]),
        ]);
        await exec("chown", ["-R", `${uid.trim()}:${gid.trim()}`, pgDir]);
      }
      return { manifest: first.manifest, files, bytes, stopLsn: f.end.stop_lsn };
    }
    if ("dir" in f) await fs.mkdir(inside(f.dir), { recursive: true, mode: 0o700 });
    else if ("file" in f) {
      const out = await fs.open(inside(f.file), "w", 0o600);
      let written = 0;
      try {
        for (let c = await next(); c !== null; c = await next()) {
          if ("eof" in c) {
            if (c.eof !== written) throw new Error(`${f.file}: ${written} bytes, the backup says ${c.eof}`);
            break;
          }
          if (!("chunk" in c)) throw new Error(`${f.file}: a ${Object.keys(c)[0]} frame inside a file`);
          const data = await r.bytes(c.chunk);
          await out.write(data);
          written += data.length;
        }
      } finally {
        await out.close();
      }
      files++;
      bytes += written;
      opts.onProgress?.({ bytes, files });
    } else throw new Error(`unexpected frame ${JSON.stringify(f).slice(0, 80)}`);
  }
}

/** backup_label and tablespace_map are written after the count in the end frame. */
async function labelFiles(pgDir: string): Promise<number> {
  let n = 0;
  for (const name of ["backup_label", "tablespace_map"]) if (existsSync(path.join(pgDir, name))) n++;
  return n;
}
