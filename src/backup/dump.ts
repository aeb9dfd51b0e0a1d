import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { FrameWriter, type Manifest } from "./format.js";

export interface TableInfo {
  name: string;
  /** Columns COPY can read and write: every column but generated ones, in their order. */
  columns: string[];
  /** The planner's row estimate, for progress. */
  estimate: number;
}

/** Keel's tables in the public schema (not partitions, not the migration log), by name. */
export async function listTables(client: pg.ClientBase): Promise<TableInfo[]> {
  const res = await client.query<{ name: string; columns: string[]; estimate: number }>(`
    select c.relname as name,
           array_agg(a.attname::text order by a.attnum) as columns,
           greatest(c.reltuples, 0)::bigint as estimate
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
    where c.relkind in ('r', 'p') and not c.relispartition and c.relname <> 'schema_migrations'
    group by c.relname, c.reltuples
    order by c.relname`);
  return res.rows.map((r) => ({ ...r, estimate: Number(r.estimate) }));
}

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export interface DumpProgress {
  table: string;
  tableIndex: number;
  tables: number;
  rows: number;
  estimate: number;
}

export interface DumpResult {
  file: string;
  manifest: Manifest;
  tables: Record<string, number>;
  bytes: number;
  ms: number;
}

/**
 * A logical backup of the whole database in ONE snapshot (repeatable read,
 * read only): every table's rows as COPY csv, with the migrations they fit.
 * What was committed before the snapshot is in it; what commits later is not.
 * Written to `file` through a temporary name, renamed only when complete.
 */
export async function dumpDatabase(
  url: string,
  file: string,
  opts: { keelVersion: string; onProgress?: (p: DumpProgress) => void },
): Promise<DumpResult> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: url, application_name: "keel backup" });
  await client.connect();
  const tmp = `${file}.partial`;
  const gzip = createGzip({ level: 6 });
  const sink = pipeline(gzip, createWriteStream(tmp, { mode: 0o600 }));
  const w = new FrameWriter(gzip);
  const counts: Record<string, number> = {};
  try {
    await client.query("begin isolation level repeatable read read only");
    const meta = await client.query<{ now: Date; version: string }>(
      "select now() as now, current_setting('server_version') as version",
    );
    const migrations = (
      await client.query<{ name: string }>("select name from schema_migrations order by name")
    ).rows.map((r) => r.name);
    const manifest: Manifest = {
      format: "keel-logical",
      created_at: new Date().toISOString(),
      snapshot_at: new Date(meta.rows[0]!.now).toISOString(),
      server_version: meta.rows[0]!.version,
      keel_version: opts.keelVersion,
      migrations,
    };
    const tables = await listTables(client);
    await w.magic();
    await w.header({ manifest });
    for (const [i, t] of tables.entries()) {
      await w.header({ table: t.name, columns: t.columns });
      const cols = t.columns.map(quoteIdent).join(", ");
      const stream = client.query(
        copyTo(`copy (select ${cols} from ${quoteIdent(t.name)}) to stdout (format csv)`),
      );
      let lastReport = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        await w.chunk(chunk);
        if (opts.onProgress && performance.now() - lastReport > 200) {
          lastReport = performance.now();
          opts.onProgress({
            table: t.name,
            tableIndex: i,
            tables: tables.length,
            rows: stream.rowCount,
            estimate: t.estimate,
          });
        }
      }
      counts[t.name] = stream.rowCount;
      await w.header({ rows: stream.rowCount });
      opts.onProgress?.({
        table: t.name,
        tableIndex: i + 1,
        tables: tables.length,
        rows: stream.rowCount,
        estimate: t.estimate,
      });
    }
    // sequences are not transactional: read now, each is at least where the snapshot's rows need it
    const seqs = await client.query<{ name: string }>(
      "select sequencename as name from pg_sequences where schemaname = 'public' order by 1",
    );
    const sequences: Record<string, { last_value: number; is_called: boolean }> = {};
    for (const { name } of seqs.rows) {
      const r = await client.query<{ last_value: string; is_called: boolean }>(
        `select last_value, is_called from ${quoteIdent(name)}`,
      );
      sequences[name] = { last_value: Number(r.rows[0]!.last_value), is_called: r.rows[0]!.is_called };
    }
    await w.header({ sequences });
    await w.header({ end: { tables: counts } });
    await client.query("commit");
    gzip.end();
    await sink;
    await fs.rename(tmp, file);
    const { size } = await fs.stat(file);
    return { file, manifest, tables: counts, bytes: size, ms: performance.now() - started };
  } catch (err) {
    gzip.destroy();
    await sink.catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
