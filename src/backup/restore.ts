import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { createGunzip } from "node:zlib";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { migrate, migrationsDir } from "../db/migrate.js";
import { listTables, quoteIdent } from "./dump.js";
import { FrameReader, MAGIC, type Manifest } from "./format.js";

export interface RestoreProgress {
  table: string;
  tableIndex: number;
  tables: number;
  rows: number;
}

export interface RestoreResult {
  manifest: Manifest;
  tables: Record<string, number>;
  /** Migrations newer than the backup, applied after its rows were in. */
  upgraded: string[];
  ms: number;
}

/**
 * Restores a `keel backup` file into an empty database (or, with `replace`,
 * into this one after dropping everything in its public schema): the
 * backup's own migrations first, so its rows fit; then every table's rows by
 * COPY in ONE transaction with triggers off (the rows are copied as they
 * were, ledger balances included, not replayed); identity sequences moved
 * past the restored ids; then the migrations this Keel has that the backup
 * did not. A truncated or altered file fails before commit and leaves no rows.
 */
export async function restoreDatabase(
  url: string,
  file: string,
  opts: { replace?: boolean; onProgress?: (p: RestoreProgress) => void } = {},
): Promise<RestoreResult> {
  const started = performance.now();
  const reader = new FrameReader(createReadStream(file).pipe(createGunzip()));
  if ((await reader.line()) !== MAGIC) throw new Error(`${file} is not a Keel backup`);
  const head = await reader.frame();
  if (!head || !("manifest" in head)) throw new Error(`${file} has no manifest`);
  const manifest = head.manifest;
  const known = new Set((await fs.readdir(migrationsDir)).filter((f) => f.endsWith(".sql")));
  const unknown = manifest.migrations.filter((m) => !known.has(m));
  if (unknown.length) {
    throw new Error(
      `the backup was made by a newer Keel (migrations ${unknown.slice(0, 3).join(", ")} are unknown here); restore it with that version`,
    );
  }

  const client = new pg.Client({ connectionString: url, application_name: "keel restore" });
  await client.connect();
  try {
    const existing = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p')`,
    );
    if (existing.rows[0]!.n > 0) {
      if (!opts.replace) {
        throw new Error(
          "the database is not empty: restore into a new database, or pass --replace to drop everything in it first",
        );
      }
      await client.query("drop schema public cascade; create schema public");
    }
    await migrate(url, { only: manifest.migrations });

    const tables = new Map((await listTables(client)).map((t) => [t.name, t]));
    try {
      await client.query("set session_replication_role = replica");
    } catch (err) {
      throw new Error(
        `restoring needs a superuser (it copies rows with triggers off): ${(err as Error).message}`,
      );
    }
    await client.query("begin");
    // the migrations' own rows (the manual channel, reason codes …) are in the backup too
    await client.query(`truncate ${[...tables.keys()].map(quoteIdent).join(", ")} restart identity cascade`);
    const counts: Record<string, number> = {};
    let index = 0;
    let end: Record<string, number> | undefined;
    let sequences: Record<string, { last_value: number; is_called: boolean }> = {};
    for (let frame = await reader.frame(); frame; frame = await reader.frame()) {
      if ("end" in frame) {
        end = frame.end.tables;
        break;
      }
      if ("sequences" in frame) {
        sequences = frame.sequences;
        continue;
      }
      if (!("table" in frame)) throw new Error(`unexpected frame ${JSON.stringify(frame).slice(0, 80)}`);
      const target = tables.get(frame.table);
      if (!target) throw new Error(`the backup has a table ${frame.table} that its migrations do not create`);
      const missing = frame.columns.filter((c) => !target.columns.includes(c));
      if (missing.length) throw new Error(`table ${frame.table} has no column ${missing.join(", ")}`);
      const stream = client.query(
        copyFrom(
          `copy ${quoteIdent(frame.table)} (${frame.columns.map(quoteIdent).join(", ")}) from stdin (format csv)`,
        ),
      );
      const finished = new Promise<void>((resolve, reject) => {
        stream.on("finish", resolve);
        stream.on("error", reject);
      });
      let rows: number | undefined;
      try {
        for (let f = await reader.frame(); f; f = await reader.frame()) {
          if ("chunk" in f) {
            const data = await reader.bytes(f.chunk);
            if (!stream.write(data)) await new Promise((r) => stream.once("drain", r));
            continue;
          }
          if ("rows" in f) {
            rows = f.rows;
            break;
          }
          throw new Error(`unexpected frame in table ${frame.table}`);
        }
      } catch (err) {
        // abort the COPY (CopyFail), or the connection stays in it and the rollback never runs
        stream.destroy(err as Error);
        await finished.catch(() => {});
        throw err;
      }
      stream.end();
      await finished;
      if (rows === undefined || stream.rowCount !== rows) {
        throw new Error(`table ${frame.table}: ${stream.rowCount} rows read, the backup says ${rows ?? "?"}`);
      }
      counts[frame.table] = rows;
      index++;
      opts.onProgress?.({ table: frame.table, tableIndex: index, tables: tables.size, rows });
    }
    if (!end) throw new Error("the backup has no end: it is truncated");
    for (const [t, n] of Object.entries(end)) {
      if (counts[t] !== n)
        throw new Error(`table ${t}: the backup's end says ${n} rows, ${counts[t] ?? 0} restored`);
    }
    // every sequence (identity columns', order and return numbers) where the backup left it
    for (const [name, v] of Object.entries(sequences)) {
      await client.query(`select setval($1, $2, $3)`, [quoteIdent(name), v.last_value, v.is_called]);
    }
    await client.query("commit");
    await client.query("set session_replication_role = origin");
    const upgraded = (await migrate(url)).applied;
    return { manifest, tables: counts, upgraded, ms: performance.now() - started };
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
