import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * Daily sales per variant at a location: movements with reason `sale` that
 * took units out of on_hand, summed per UTC day. Only complete days count
 * (up to yesterday), and a variant's series starts on its first day with a
 * sale in the window, so a product launched last month is not averaged with
 * months it did not exist.
 *
 * Read from the `sales_daily` rollup (rollup.ts), plus — given the rollup's
 * `horizon` read in the same snapshot (`withSalesSnapshot`) — the sale
 * movements the rollup has not reached yet, through their own index. Without
 * a horizon, only what is rolled up: the forecast job's view, in which
 * whatever arrives later marks its forecast stale.
 */
export async function dailySales(
  db: DB | Tx,
  locationId: number,
  days: number,
  today: string,
  opts: { variantIds?: number[]; horizon?: string } = {},
): Promise<Map<number, number[]>> {
  const from = sql`(${today}::date - ${days}::int)`;
  const only = (column: string) =>
    opts.variantIds ? sql`and ${sql.ref(column)} = any(${opts.variantIds}::bigint[])` : sql``;
  const rows = await sql<{ variant_id: number; day_no: number; units: number }>`
    select variant_id, day_no, sum(units)::int as units from (
      select variant_id, (day - ${from})::int as day_no, units from sales_daily
      where location_id = ${locationId} and day >= ${from} and day < ${today}::date ${only("variant_id")}
      ${
        opts.horizon === undefined
          ? sql``
          : sql`union all
      select m.variant_id, ((m.created_at at time zone 'UTC')::date - ${from})::int, -m.delta
      from inventory_movements m
      where m.reason = 'sale' and m.bucket = 'on_hand' and m.delta < 0 and m.txid >= ${opts.horizon}::xid8
        and m.location_id = ${locationId} and m.created_at >= ${from}::timestamp at time zone 'UTC'
        and m.created_at < ${today}::date::timestamp at time zone 'UTC' ${only("m.variant_id")}`
      }
    ) s group by 1, 2 order by 1, 2`.execute(db);
  return toSeries(rows.rows, days);
}

/**
 * Runs `work` in one read-only snapshot (repeatable read), with the sales
 * rollup's horizon as of that snapshot: sales_daily plus the movements at
 * and above the horizon are then exactly the ledger's sales, none twice.
 */
export async function withSalesSnapshot<T>(
  db: DB,
  work: (tx: Tx, horizon: string) => Promise<T>,
): Promise<T> {
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute(async (tx) => {
      const r = await sql<{ horizon: string }>`select horizon::text as horizon from sales_rollup`.execute(tx);
      return work(tx, r.rows[0].horizon);
    });
}

/**
 * The same series straight from the ledger: the definition the rollup must
 * agree with (tests compare the two). Reads every sale of the window.
 */
export async function dailySalesFromLedger(
  db: DB | Tx,
  locationId: number,
  days: number,
  today: string,
): Promise<Map<number, number[]>> {
  const rows = await sql<{ variant_id: number; day_no: number; units: number }>`
    select variant_id, ((created_at at time zone 'UTC')::date - (${today}::date - ${days}::int))::int as day_no,
           -sum(delta)::int as units
    from inventory_movements
    where location_id = ${locationId} and reason = 'sale' and bucket = 'on_hand' and delta < 0
      and created_at >= (${today}::date - ${days}::int)::timestamp at time zone 'UTC'
      and created_at < ${today}::date::timestamp at time zone 'UTC'
    group by 1, 2 order by 1, 2`.execute(db);
  return toSeries(rows.rows, days);
}

function toSeries(
  rows: { variant_id: number; day_no: number; units: number }[],
  days: number,
): Map<number, number[]> {
  const byVariant = new Map<number, number[]>();
  for (const r of rows) {
    let series = byVariant.get(r.variant_id);
    if (!series) {
      series = Array(days).fill(0);
      byVariant.set(r.variant_id, series);
    }
    series[r.day_no] = r.units;
  }
  for (const [id, series] of byVariant) byVariant.set(id, series.slice(series.findIndex((v) => v > 0)));
  return byVariant;
}

/** Today's date in UTC as the database sees it (YYYY-MM-DD). */
export async function utcToday(db: DB | Tx): Promise<string> {
  const r = await sql<{ today: string }>`select ((now() at time zone 'UTC')::date)::text as today`.execute(
    db,
  );
  return r.rows[0].today;
}

/** `day` moved by `n` days (YYYY-MM-DD, UTC). */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
