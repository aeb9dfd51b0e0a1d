import { sql } from "kysely";
import type { DB } from "../db/pool.js";

/**
 * Keeps `sales_daily` (units sold per variant × location × UTC day) and
 * `sales_last_day` up to date from the ledger's `sale` movements, so that
 * replenishment never has to scan months of ledger per request.
 *
 * Incremental and exact. Each movement carries the id of the transaction that
 * wrote it (`txid`). A run takes the movements of every transaction in
 * [horizon, oldest transaction still running) — all of them committed or
 * rolled back by then, so none can still appear there — adds them to the
 * rollup and moves the horizon on, in one transaction with the horizon row
 * locked. A second process running at the same time waits for the row, then
 * starts from the new horizon: nothing is counted twice, and a run that fails
 * changes nothing. A movement id watermark would not do: ids are taken before
 * commit, so a movement can become visible after a higher-numbered one.
 *
 * Readers add the movements at and above the horizon themselves (history.ts),
 * in the same statement, so what they see is always the whole ledger.
 *
 * When sales arrive for a day a stored forecast has already looked at (a late
 * commit, an import), the forecast is marked stale in the same transaction.
 */
export async function rollUpSales(db: DB): Promise<number> {
  return db.transaction().execute(async (tx) => {
    // Waits for a forecast batch reading sales_daily (it holds this row FOR
    // SHARE), so a forecast is either made after this run or marked stale by it.
    await sql`select horizon from sales_rollup for update`.execute(tx);
    const r = await sql<{ movements: number }>`
      with upto as (select pg_snapshot_xmin(pg_current_snapshot()) as xid),
      moved as (
        select m.location_id, m.variant_id, (m.created_at at time zone 'UTC')::date as day, -m.delta as units
        from inventory_movements m
        where m.reason = 'sale' and m.bucket = 'on_hand' and m.delta < 0
          and m.txid >= (select horizon from sales_rollup) and m.txid < (select xid from upto)
      ),
      days as (
        select location_id, variant_id, day, sum(units)::int as units from moved group by 1, 2, 3
      ),
      daily as (
        insert into sales_daily as s (location_id, variant_id, day, units)
        select location_id, variant_id, day, units from days
        on conflict (location_id, variant_id, day) do update set units = s.units + excluded.units
      ),
      last_day as (
        insert into sales_last_day as l (location_id, variant_id, last_day)
        select location_id, variant_id, max(day) from days group by 1, 2
        on conflict (location_id, variant_id) do update set last_day = greatest(l.last_day, excluded.last_day)
      ),
      stale as (
        update demand_forecasts f set stale = true from days d
        where f.location_id = d.location_id and f.variant_id = d.variant_id and d.day < f.as_of and not f.stale
      ),
      moved_on as (
        update sales_rollup set horizon = upto.xid, runs = runs + 1, updated_at = now()
        from upto where sales_rollup.horizon < upto.xid
      )
      select count(*)::int as movements from moved`.execute(tx);
    return r.rows[0].movements;
  });
}
