import path from "node:path";
import cliProgress from "cli-progress";
import { dumpDatabase } from "../backup/dump.js";
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
