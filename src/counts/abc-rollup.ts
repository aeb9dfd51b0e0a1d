import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { type AbcRow, abcClasses } from "./abc.js";

/**
 * ABC classes kept ahead, so the report does not sum months of ledger sales
 * for every SKU of a location on every request (seconds at a million orders).
 *
 * A background job classifies each location's SKUs with `abcClasses` itself —
 * the same statement, in a transaction whose now() is stored as
 * `computed_at` — and stores the ranked list (`abc_rollups`,
 * `abc_rollup_rows`). A stored list is therefore exactly the report as it
 * was at `computed_at`; nothing is approximated, it is only minutes old. The
 * job refreshes every list older than `ABC_REFRESH_MS`: the report's default
 * window for every location with stock, and any other window a request has
 * asked for in the last day.
 *
 * A request serves the stored list when it is at most `ABC_MAX_AGE_MS` old,
 * and says when it was computed. Otherwise (no job running, a window nobody
 * asked for yet, or `live`) it classifies now, and stores what it computed
 * for the requests after it.
 */

/** The report's default window, kept for every location. */
export const ABC_DEFAULT_DAYS = 90;
/** The job recomputes a stored classification once it is this old. */
export const ABC_REFRESH_MS = 5 * 60_000;
/** A request serves a stored classification at most this old. */
export const ABC_MAX_AGE_MS = 15 * 60_000;
/** A window other than the default is kept this long after a request last computed it. */
const KEEP_REQUESTED_MS = 24 * 60 * 60_000;

export interface AbcReport {
  rows: AbcRow[];
  /** Sales up to this moment are counted (over the `days` before it). */
  computedAt: Date;
  /** `stored`: computed ahead by the job (or an earlier request); `computed_now`: for this request. */
  source: "stored" | "computed_now";
}

/**
 * The ABC classes of a location over `days`: the stored classification when
 * it is at most `maxAgeMs` old, else computed now (and stored).
 */
export async function abcReport(
  db: DB,
  locationId: number,
  days: number,
  opts: { live?: boolean; maxAgeMs?: number } = {},
): Promise<AbcReport> {
  if (!opts.live) {
    const stored = await storedAbcClasses(db, locationId, days, opts.maxAgeMs ?? ABC_MAX_AGE_MS);
    if (stored) return { ...stored, source: "stored" };
  }
  const computed = await storeAbcClasses(db, locationId, days, { requested: true });
  return { ...computed, source: "computed_now" };
}

/** The stored classification of a location over `days`, if there is one at most `maxAgeMs` old. */
export async function storedAbcClasses(
  db: DB | Tx,
  locationId: number,
  days: number,
  maxAgeMs: number,
): Promise<{ rows: AbcRow[]; computedAt: Date } | undefined> {
  // one snapshot: a refresh committing between the two reads cannot mix two lists
  const read = async (tx: Tx) => {
    const head = await sql<{ computed_at: Date }>`
      select computed_at from abc_rollups
      where location_id = ${locationId} and days = ${days}
        and computed_at >= now() - make_interval(secs => ${maxAgeMs / 1000})`.execute(tx);
    if (head.rows.length === 0) return undefined;
    const rows = await sql<AbcRow>`
      select variant_id, sku, units_sold, value, class from abc_rollup_rows
      where location_id = ${locationId} and days = ${days} order by value desc, sku`.execute(tx);
    return { rows: rows.rows, computedAt: head.rows[0].computed_at };
  };
  if (db.isTransaction) return read(db as Tx);
  return db.transaction().setIsolationLevel("repeatable read").setAccessMode("read only").execute(read);
}

/**
 * Classifies a location's SKUs over `days` now and stores the result, in one
 * transaction. `requested`: a request asked for it (keeps a window other than
 * the default refreshed for a day).
 */
export async function storeAbcClasses(
  db: DB,
  locationId: number,
  days: number,
  opts: { requested?: boolean } = {},
): Promise<{ rows: AbcRow[]; computedAt: Date }> {
  return db.transaction().execute(async (tx) => {
    // takes the window's row lock: two refreshes of one window run one after the other
    const head = await sql<{ computed_at: Date }>`
      insert into abc_rollups as r (location_id, days, computed_at, requested_at)
      values (${locationId}, ${days}, now(), ${opts.requested ? sql`now()` : sql`null`})
      on conflict (location_id, days) do update
        set computed_at = now(), requested_at = coalesce(excluded.requested_at, r.requested_at)
      returning computed_at`.execute(tx);
    return { rows: await classifyInto(tx, locationId, days), computedAt: head.rows[0].computed_at };
  });
}

/**
 * abcClasses of the location, written as its stored rows (in the caller's
 * transaction, which holds the window's row). Only rows that changed are
 * written: one sale changes one SKU's figures, not the rest of the list.
 */
async function classifyInto(tx: Tx, locationId: number, days: number): Promise<AbcRow[]> {
  const rows = await abcClasses(tx, locationId, days);
  await sql`
    with now_ as (
      select * from unnest(${rows.map((r) => r.variant_id)}::bigint[], ${rows.map((r) => r.sku)}::text[],
                           ${rows.map((r) => r.units_sold)}::int[], ${rows.map((r) => r.value)}::bigint[],
                           ${rows.map((r) => r.class)}::text[]) as x(variant_id, sku, units_sold, value, class)
    ),
    gone as (
      delete from abc_rollup_rows r where r.location_id = ${locationId} and r.days = ${days}
        and not exists (select 1 from now_ n where n.variant_id = r.variant_id)
    ),
    changed as (
      select n.* from now_ n
      left join abc_rollup_rows r on r.location_id = ${locationId} and r.days = ${days} and r.variant_id = n.variant_id
      where r.variant_id is null
         or (r.sku, r.units_sold, r.value, r.class::text) is distinct from (n.sku, n.units_sold, n.value, n.class)
    )
    insert into abc_rollup_rows as r (location_id, days, variant_id, sku, units_sold, value, class)
    select ${locationId}, ${days}, variant_id, sku, units_sold, value, class from changed
    on conflict (location_id, days, variant_id) do update
      set sku = excluded.sku, units_sold = excluded.units_sold, value = excluded.value, class = excluded.class`.execute(
    tx,
  );
  return rows;
}

/**
 * The background job: makes sure every location with stock has its default
 * window, drops windows nobody has asked for in a day, and recomputes each
 * stored classification older than `ABC_REFRESH_MS`, one window per
 * transaction (a window another process is refreshing is skipped). Returns
 * how many it recomputed.
 */
export async function refreshAbcRollups(db: DB, opts: { refreshMs?: number } = {}): Promise<number> {
  const refreshMs = opts.refreshMs ?? ABC_REFRESH_MS;
  await sql`
    insert into abc_rollups (location_id, days, computed_at)
    select l.id, ${ABC_DEFAULT_DAYS}::int, '-infinity'::timestamptz from locations l
    where exists (select 1 from inventory_levels il where il.location_id = l.id)
    on conflict do nothing`.execute(db);
  await sql`
    delete from abc_rollups where days <> ${ABC_DEFAULT_DAYS}
      and coalesce(requested_at, '-infinity') < now() - make_interval(secs => ${KEEP_REQUESTED_MS / 1000})`.execute(
    db,
  );
  // each window at most once per run: those due when the run starts
  const due = await sql<{ location_id: number; days: number; cutoff: string }>`
    select location_id, days, (now() - make_interval(secs => ${refreshMs / 1000}))::text as cutoff
    from abc_rollups where computed_at < now() - make_interval(secs => ${refreshMs / 1000})
    order by computed_at`.execute(db);
  let made = 0;
  for (const { location_id, days, cutoff } of due.rows) {
    const done = await db.transaction().execute(async (tx) => {
      // skipped when another process holds it, or has refreshed it since
      const claimed = await sql`
        update abc_rollups set computed_at = now()
        where (location_id, days) = (
          select location_id, days from abc_rollups
          where location_id = ${location_id} and days = ${days} and computed_at < ${cutoff}::timestamptz
          for update skip locked)`.execute(tx);
      if (Number(claimed.numAffectedRows ?? 0) === 0) return false;
      await classifyInto(tx, location_id, days);
      return true;
    });
    if (done) made += 1;
  }
  return made;
}
