import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import cliProgress from "cli-progress";
import { dumpDatabase } from "../backup/dump.js";
import { installedTools, pgDumpBackup, pgRestore, pickTool, serverMajor } from "../backup/pgdump.js";
import { physicalBackup, physicalRestore } from "../backup/physical.js";
import { restoreDatabase } from "../backup/restore.js";
import { CliError } from "./database.js";

/**
 * `keel backup` and `keel restore`: the logical backup (src/backup), with a
 * progress bar on stderr and the manifest's figures on stdout.
 */
function bar(format: string) {
  return new cliProgress.SingleBar(
    { stream: process.stderr, format, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function backupCommand(
  url: string,
  out: string | undefined,
  keelVersion: string,
): Promise<void> {
  const file = out ?? `keel-${new Date().toISOString().replace(/[:.]/g, "-")}.keel.gz`;
  const progress = bar("Backing up [{bar}] {value}/{total} tables | {table}");
  let started = false;
  const result = await dumpDatabase(url, path.resolve(file), {
    keelVersion,
    onProgress: (p) => {
      if (!started) progress.start(p.tables, p.tableIndex, { table: p.table });
      else progress.update(p.tableIndex, { table: `${p.table} (${p.rows.toLocaleString()} rows)` });
      started = true;
    },
  }).finally(() => started && progress.stop());
  const rows = Object.values(result.tables).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `Backup written to ${file}: ${Object.keys(result.tables).length} tables, ${rows.toLocaleString()} rows, ` +
      `${mib(result.bytes)} in ${(result.ms / 1000).toFixed(1)} s.\n` +
      `  Snapshot at ${result.manifest.snapshot_at}: what was committed before it is in the backup.\n` +
      `  Schema: ${result.manifest.migrations.length} migrations (last ${result.manifest.migrations.at(-1)}), PostgreSQL ${result.manifest.server_version}.\n`,
  );
}

export async function restoreCommand(url: string, file: string, replace: boolean): Promise<void> {
  const progress = bar("Restoring [{bar}] {value}/{total} tables | {table}");
  let started = false;
  const result = await restoreDatabase(url, path.resolve(file), {
    replace,
    onProgress: (p) => {
      if (!started) progress.start(p.tables, p.tableIndex, { table: p.table });
      else progress.update(p.tableIndex, { table: `${p.table} (${p.rows.toLocaleString()} rows)` });
      started = true;
    },
  })
    .catch((err: Error) => {
      throw new CliError(`restore failed, nothing of the backup was committed: ${err.message}`);
    })
    .finally(() => started && progress.stop());
  const rows = Object.values(result.tables).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `Restored ${rows.toLocaleString()} rows in ${Object.keys(result.tables).length} tables from ${file} ` +
      `(snapshot ${result.manifest.snapshot_at}) in ${(result.ms / 1000).toFixed(1)} s.` +
      (result.upgraded.length ? ` Then applied ${result.upgraded.length} newer migrations.` : "") +
      "\nRun `keel doctor` and `keel audit verify` to check it.\n",
  );
}

export { isPhysicalBackup } from "../backup/physical.js";

/** `keel backup` of the embedded server: a hot physical copy, with a progress bar by bytes. */
export async function physicalBackupCommand(
  url: string,
  dataDir: string,
  out: string | undefined,
  keelVersion: string,
): Promise<void> {
  const file = path.resolve(out ?? `keel-${new Date().toISOString().replace(/[:.]/g, "-")}.keel.gz`);
  const progress = bar("Backing up [{bar}] {percentage}% | {done} of {all} | {files} files");
  let started = false;
  const result = await physicalBackup(url, path.join(dataDir, "pg"), file, {
    keelVersion,
    onProgress: (p) => {
      const payload = { done: mib(p.bytes), all: mib(p.total), files: p.files };
      if (!started) progress.start(Math.max(p.total, p.bytes), p.bytes, payload);
      else progress.update(Math.min(p.bytes, Math.max(p.total, p.bytes)), payload);
      started = true;
    },
  }).finally(() => started && progress.stop());
  const rows = Object.values(result.manifest.rows_at_start).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `Physical backup written to ${file}: ${result.files} files, ${mib(result.bytes)} in ${(result.ms / 1000).toFixed(1)} s.\n` +
      `  Consistent at WAL position ${result.stopLsn}: what was committed before the backup ended is in it.\n` +
      `  Schema: ${result.manifest.migrations.length} migrations (last ${result.manifest.migrations.at(-1)}), PostgreSQL ${result.manifest.server_version}; ` +
      `${rows.toLocaleString()} rows when it started.\n` +
      "  Restores into the same PostgreSQL major version; `keel backup --logical` for a portable copy.\n",
  );
}

/** Puts a physical backup in place of the embedded server's data directory (which must be stopped). */
export async function physicalRestoreCommand(dataDir: string, file: string, replace: boolean): Promise<void> {
  const pgDir = path.join(dataDir, "pg");
  const pidFile = path.join(pgDir, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = Number((await fs.readFile(pidFile, "utf8")).split("\n")[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {}
    if (alive)
      throw new CliError(`the embedded PostgreSQL in ${pgDir} is running (pid ${pid}): stop Keel first`);
  }
  let kept: string | undefined;
  if (existsSync(pgDir) && (await fs.readdir(pgDir)).length > 0) {
    if (!replace) throw new CliError(`${pgDir} holds a database: add --replace (it is kept beside, renamed)`);
    kept = `${pgDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await fs.rename(pgDir, kept);
  }
  const progress = bar("Restoring [{bar}] {value} files | {done}");
  progress.start(0, 0, { done: "0 MiB" });
  try {
    const result = await physicalRestore(file, pgDir, {
      onProgress: (p) => {
        progress.setTotal(p.files);
        progress.update(p.files, { done: mib(p.bytes) });
      },
    });
    progress.stop();
    process.stdout.write(
      `Restored ${result.files} files (${mib(result.bytes)}) from ${file}, consistent at ${result.stopLsn}.` +
        (kept ? `\n  The data directory it replaced is kept in ${kept}.` : "") +
        "\n",
    );
  } catch (err) {
    progress.stop();
    await fs.rm(pgDir, { recursive: true, force: true });
    if (kept) await fs.rename(kept, pgDir);
    throw new CliError(`restore failed, the data directory is as it was: ${(err as Error).message}`);
  }
}

export { isPgDumpArchive } from "../backup/pgdump.js";

/**
 * `keel backup` with DATABASE_URL: pg_dump (custom format) when one at least as
 * new as the server is installed, else Keel's logical backup, saying which.
 */
export async function serverBackupCommand(
  url: string,
  out: string | undefined,
  keelVersion: string,
): Promise<void> {
  const major = await serverMajor(url);
  const tool = pickTool(await installedTools("pg_dump"), major);
  if (!tool) {
    process.stderr.write(
      `No pg_dump ${major} or newer is installed: writing Keel's logical backup instead (keel restore reads both).\n`,
    );
    return backupCommand(url, out, keelVersion);
  }
  const file = path.resolve(out ?? `keel-${new Date().toISOString().replace(/[:.]/g, "-")}.pgdump`);
  const progress = bar("Backing up with pg_dump [{bar}] {value}/{total} tables");
  let started = false;
  const result = await pgDumpBackup(url, file, tool, (done, tables) => {
    if (!started) progress.start(tables, done);
    else progress.update(done);
    started = true;
  }).finally(() => started && progress.stop());
  const { size } = await fs.stat(file);
  process.stdout.write(
    `Backup written to ${file} by ${tool.version} (custom format): ${result.tables} tables, ${mib(size)} in ${(result.ms / 1000).toFixed(1)} s.\n` +
      "  One snapshot: what was committed before pg_dump started is in it. `keel restore` gives it to pg_restore.\n",
  );
}

/** `keel restore` of a pg_dump archive: pg_restore in one transaction, then newer migrations. */
export async function pgRestoreCommand(url: string, file: string, replace: boolean): Promise<void> {
  const tool = (await installedTools("pg_restore"))[0];
  if (!tool) throw new CliError(`${file} is a pg_dump archive and no pg_restore is installed`);
  const result = await pgRestore(url, file, tool, { replace }).catch((err: Error) => {
    throw new CliError(`restore failed, nothing of the backup was committed: ${err.message}`);
  });
  process.stdout.write(
    `Restored ${file} with ${tool.version} in ${(result.ms / 1000).toFixed(1)} s.` +
      (result.upgraded.length ? ` Then applied ${result.upgraded.length} newer migrations.` : "") +
      "\nRun `keel doctor` and `keel audit verify` to check it.\n",
  );
}
