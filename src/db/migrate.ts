import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

/** Advisory lock key that serialises migration runs across processes. */
const MIGRATION_LOCK = 7_350_001;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies the plain SQL files in migrations/ in name order, each in its own
 * transaction, under a session advisory lock so several processes starting at
 * once apply each file exactly once. A file already applied with different
 * contents is an error: migrations are never edited after they land.
 */
export async function migrate(
  connectionString: string,
  opts: { only?: readonly string[] } = {},
): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query(`create table if not exists schema_migrations (
      name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
    const done = new Map<string, string>(
      (await client.query("select name, checksum from schema_migrations")).rows.map((r) => [
        r.name,
        r.checksum,
      ]),
    );
    // `only`: just these (a restore first recreates the schema its backup's rows fit)
    const only = opts.only ? new Set(opts.only) : undefined;
    const files = (await fs.readdir(migrationsDir))
      .filter((f) => f.endsWith(".sql") && (!only || only.has(f)))
      .sort();
    for (const file of files) {
      const text = await fs.readFile(path.join(migrationsDir, file), "utf8");
      const checksum = createHash("sha256").update(text).digest("hex");
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) throw new Error(`migration ${file} changed after it was applied`);
        continue;
      }
      await client.query("begin");
      try {
        await client.query(text);
        await client.query("insert into schema_migrations (name, checksum) values ($1, $2)", [
          file,
          checksum,
        ]);
        await client.query("commit");
      } catch (err) {
        await client.query("rollback");
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
  return { applied };
}
