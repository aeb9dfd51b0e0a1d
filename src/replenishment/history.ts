import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * Daily sales per variant at a location, from the ledger: movements with
 * reason `sale` that took units out of on_hand, summed per UTC day. Only
 * complete days count (up to yesterday), and a variant's series starts on
 * its first day with a sale in the window, so a product launched last month
 * is not averaged with months it did not exist.
 */
export async function dailySales(
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
  const byVariant = new Map<number, number[]>();
  for (const r of rows.rows) {
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
