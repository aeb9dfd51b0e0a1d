import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { type DemandForecast, forecastDemand } from "./forecast.js";
import { dailySales, utcToday } from "./history.js";
import { rollUpSales } from "./rollup.js";
import { replenishmentSettings } from "./settings.js";

/**
 * Demand forecasts made ahead by a background job and stored per variant ×
 * location (`demand_forecasts`), so a suggestions request reads them instead
 * of fitting a model for every SKU.
 *
 * A forecast made on day D (`as_of`) is fitted on the complete days of the
 * history window before D, exactly as a request on day D would fit it, and
 * stores its daily points — and their running totals, so a request reads the
 * demand over a lead time without adding — far enough ahead for every lead
 * time the SKU's suppliers quote (a forecast's first n points do not depend
 * on how far ahead it was asked for). It is made again when:
 * - a new day starts (the window moves on);
 * - sales for a day it looked at arrive afterwards (the rollup marks it stale);
 * - the history window setting changes, or a supplier quotes a longer lead time.
 * Sales of today do not change it: only complete days count, until tomorrow.
 *
 * SKUs with a reorder rule at the location follow their rule and get none.
 * Fitting takes a few milliseconds per series, so the job works in batches,
 * yields to the event loop between series, and stops after its time budget;
 * one process at a time does it (an advisory lock).
 */

/** Advisory lock key: one process makes forecasts at a time. */
const FORECAST_LOCK = 7_350_009;
/** Points kept ahead, at least: covers a lead time of four weeks. */
const MIN_HORIZON = 28;

export interface StoredForecast {
  history_days: number;
  as_of: string;
  model: DemandForecast["model"];
  series_days: number;
  points: number[];
  sigma: number;
  stale: boolean;
  computed_at: Date;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Brings stored forecasts up to date, most needed first (missing or stale,
 * then out of date), for up to `budgetMs`. Rolls up new sales first. Returns
 * how many forecasts it made.
 */
export async function refreshForecasts(
  db: DB,
  opts: { budgetMs?: number; batchSize?: number } = {},
): Promise<number> {
  const budget = opts.budgetMs ?? 10_000;
  const started = performance.now();
  await rollUpSales(db);
  let made = 0;
  while (performance.now() - started < budget) {
    const n = await forecastBatch(db, opts.batchSize ?? 50);
    if (n === 0) break;
    made += n;
  }
  await sql`delete from demand_forecasts where as_of < (now() at time zone 'UTC')::date - 7`.execute(db);
  return made;
}

/** Makes the forecasts of up to `size` variant × location pairs that need one; 0 when none do (or another process is at it). */
async function forecastBatch(db: DB, size: number): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${FORECAST_LOCK}) as ok`.execute(
      tx,
    );
    if (!lock.rows[0].ok) return 0;
    // No rollup run can commit while this batch reads sales_daily and writes its
    // forecasts: one that comes later sees them and marks them stale if it must.
    await sql`select 1 from sales_rollup for share`.execute(tx);
    const settings = await replenishmentSettings(tx);
    const days = settings.history_days;
    const today = await utcToday(tx);
    const due = await sql<{ location_id: number; variant_id: number; horizon: number }>`
      with lead as (
        select si.variant_id, max(coalesce(si.lead_time_days, s.lead_time_days)) as days
        from supplier_items si join suppliers s on s.id = si.supplier_id where s.active group by 1
      ),
      sold as (
        select d.location_id, d.variant_id,
          greatest(${MIN_HORIZON}::int, ${settings.default_lead_time_days}::int, lead.days) as horizon
        from sales_last_day d left join lead on lead.variant_id = d.variant_id
        where d.last_day >= ${today}::date - ${days}::int
      )
      select d.location_id, d.variant_id, d.horizon
      from sold d
      join variants v on v.id = d.variant_id and v.kind = 'physical'
      left join demand_forecasts f on f.location_id = d.location_id and f.variant_id = d.variant_id
      where not exists (select 1 from reorder_rules r where r.variant_id = d.variant_id and r.location_id = d.location_id)
        and (f.variant_id is null or f.stale or f.as_of <> ${today}::date or f.history_days <> ${days}
             or f.totals is null or cardinality(f.points) < d.horizon)
      order by (f.variant_id is null or f.stale) desc, d.location_id, d.variant_id
      limit ${size}`.execute(tx);
    if (due.rows.length === 0) return 0;
    const byLocation = new Map<number, number[]>();
    for (const p of due.rows)
      byLocation.set(p.location_id, [...(byLocation.get(p.location_id) ?? []), p.variant_id]);
    const history = new Map<number, Map<number, number[]>>();
    for (const [locationId, variantIds] of byLocation) {
      history.set(locationId, await dailySales(tx, locationId, days, today, { variantIds }));
    }
    const made: { p: (typeof due.rows)[number]; f: DemandForecast }[] = [];
    for (const p of due.rows) {
      made.push({ p, f: forecastDemand(history.get(p.location_id)?.get(p.variant_id) ?? [], p.horizon) });
      await yieldToEventLoop();
    }
    await sql`
      insert into demand_forecasts as f (location_id, variant_id, history_days, as_of, model, series_days, points, totals,
                                         sigma, stale, computed_at)
      select l, v, ${days}, ${today}::date, m, n, p::float8[], t::float8[], s, false, now()
      from unnest(${made.map((x) => x.p.location_id)}::bigint[], ${made.map((x) => x.p.variant_id)}::bigint[],
                  ${made.map((x) => x.f.model)}::text[], ${made.map((x) => x.f.historyDays)}::int[],
                  ${made.map((x) => `{${x.f.points.join(",")}}`)}::text[],
                  ${made.map((x) => `{${runningTotals(x.f.points).join(",")}}`)}::text[], ${made.map((x) => x.f.sigma)}::float8[])
           as x(l, v, m, n, p, t, s)
      on conflict (location_id, variant_id) do update set history_days = excluded.history_days,
        as_of = excluded.as_of, model = excluded.model, series_days = excluded.series_days, points = excluded.points,
        totals = excluded.totals, sigma = excluded.sigma, stale = false, computed_at = excluded.computed_at`.execute(
      tx,
    );
    return made.length;
  });
}

/**
 * The forecast summed over its first n days, for every n, added in order:
 * element n - 1 is exactly what `points.slice(0, n).reduce((a, b) => a + b, 0)`
 * gives, so a suggestion can read it instead of adding the points up.
 */
export function runningTotals(points: number[]): number[] {
  const totals: number[] = [];
  let total = 0;
  for (const p of points) {
    total += p;
    totals.push(total);
  }
  return totals;
}
