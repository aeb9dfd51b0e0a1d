import { parse } from "csv-parse/sync";
import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import type { ImportError } from "../../db/schema-imports.js";
import { adjustStock } from "../../inventory/adjustments.js";
import { importProductRow, type ProductRow } from "./import-products.js";

/**
 * CSV imports run in the background of the process that accepted the file.
 * Every row (products: every variant row) is applied in its own transaction,
 * so a bad row changes nothing and the others still apply. Applying a row
 * that is already in effect changes nothing, so a file can be imported again
 * safely, e.g. after an import was marked failed because its process died.
 */

export const MAX_STORED_ERRORS = 1000;
/** A running import whose heartbeat is older than this lost its process. */
export const STALE_AFTER_SECONDS = 120;

export interface CsvRecord {
  line: number;
  get(...names: string[]): string | undefined;
}

/** Records with the line each starts on; header names match case-insensitively. */
export function parseCsv(text: string): CsvRecord[] {
  const rows = parse(text, {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  if (rows.length === 0) return [];
  const header = rows[0].record.map((h) => h.trim().toLowerCase());
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (!index.has(h)) index.set(h, i);
  });
  let previousEnd = rows[0].info.lines;
  return rows.slice(1).map(({ record, info }) => {
    const line = previousEnd + 1;
    previousEnd = info.lines;
    return {
      line,
      get(...names: string[]) {
        for (const name of names) {
          const i = index.get(name.toLowerCase());
          const value = i === undefined ? undefined : record[i]?.trim();
          if (value) return value;
        }
        return undefined;
      },
    };
  });
}

export function problemOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class Progress {
  rows = 0;
  applied = 0;
  errors: ImportError[] = [];
  errorCount = 0;
  private flushedAt = Date.now();

  constructor(
    private db: DB,
    private id: number,
  ) {}

  fail(line: number, message: string) {
    this.errorCount++;
    if (this.errors.length < MAX_STORED_ERRORS) this.errors.push({ line, message });
  }

  async flush(status?: "done" | "failed") {
    this.flushedAt = Date.now();
    await this.db
      .updateTable("imports")
      .set({
        rows: this.rows,
        applied: this.applied,
        errors: JSON.stringify(this.errors),
        error_count: this.errorCount,
        heartbeat_at: sql`now()`,
        ...(status ? { status, finished_at: sql`now()` } : {}),
      })
      .where("id", "=", this.id)
      .execute();
  }

  async tick() {
    if (Date.now() - this.flushedAt > 2000) await this.flush();
  }
}

export interface ImportJob {
  id: number;
  kind: "products" | "levels";
  text: string;
  actor: string;
  currency: string;
}

/** Runs an import to its end; never throws (a failure is recorded on the import). */
export async function runImport(db: DB, job: ImportJob): Promise<void> {
  const progress = new Progress(db, job.id);
  try {
    let records: CsvRecord[];
    try {
      records = parseCsv(job.text);
    } catch (err) {
      const line = (err as { lines?: number }).lines ?? 0;
      progress.fail(line, `not a readable CSV file: ${problemOf(err)}`);
      await progress.flush("failed");
      return;
    }
    if (job.kind === "levels") await importLevels(db, job, records, progress);
    else await importProducts(db, job, records, progress);
    await progress.flush("done");
  } catch (err) {
    progress.fail(0, `import stopped: ${problemOf(err)}`);
    await progress.flush("failed").catch(() => {});
  }
}

async function importLevels(db: DB, job: ImportJob, records: CsvRecord[], progress: Progress) {
  for (const r of records) {
    progress.rows++;
    const sku = r.get("sku");
    const location = r.get("location");
    const raw = r.get("on_hand");
    if (!sku || !location || raw === undefined) {
      progress.fail(r.line, "sku, location and on_hand are required");
    } else if (!/^\d{1,9}$/.test(raw)) {
      progress.fail(r.line, `on_hand ${JSON.stringify(raw)} is not a whole number ≥ 0`);
    } else {
      try {
        await db
          .transaction()
          .execute((tx) =>
            adjustStock(
              tx,
              { sku, location, set: Number(raw), reason: "correction", reference: `import:${job.id}` },
              job.actor,
            ),
          );
        progress.applied++;
      } catch (err) {
        progress.fail(r.line, problemOf(err));
      }
    }
    await progress.tick();
  }
}

async function importProducts(db: DB, job: ImportJob, records: CsvRecord[], progress: Progress) {
  // rows of one handle form one product, in file order; a row without a handle continues the previous one
  const groups = new Map<string, ProductRow[]>();
  let last: string | undefined;
  for (const r of records) {
    const handle = r.get("handle", "url handle") ?? last;
    if (!handle) {
      progress.rows++;
      progress.fail(r.line, "a product row needs a Handle (URL handle)");
      continue;
    }
    last = handle;
    const group = groups.get(handle) ?? [];
    if (group.length === 0) groups.set(handle, group);
    group.push({ record: r, handle });
  }
  for (const rows of groups.values()) {
    for (const row of rows) {
      progress.rows++;
      try {
        await importProductRow(db, rows, row, job.currency);
        progress.applied++;
      } catch (err) {
        progress.fail(row.record.line, problemOf(err));
      }
      await progress.tick();
    }
  }
}

/** Marks imports whose process died (no heartbeat for a while) as failed. */
export async function failStaleImports(db: DB): Promise<number> {
  const message = JSON.stringify([
    {
      line: 0,
      message:
        "the process running this import stopped before it finished; rows reported as applied stay applied, and importing the same file again is safe (rows already in effect change nothing)",
    },
  ]);
  const res = await sql`
    update imports set status = 'failed', finished_at = now(),
      errors = errors || ${message}::jsonb, error_count = error_count + 1
    where status = 'running' and heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})`.execute(
    db,
  );
  return Number(res.numAffectedRows ?? 0);
}
