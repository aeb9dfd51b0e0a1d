import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { decodeCursor, encodeCursor } from "../http/pagination.js";
import { resolveLocations } from "../inventory/refs.js";
import { sourcingFor } from "../purchasing/suppliers.js";
import { type DemandForecast, forecastDemand } from "./forecast.js";
import { addDays, dailySales, utcToday, withSalesSnapshot } from "./history.js";
import { inverseNormalCdf } from "./normal.js";
import {
  type Candidate,
  compareKeys,
  describe,
  type Figures,
  figures,
  isSortKey,
  keyOf,
  type SortKey,
  type UsedForecast,
} from "./suggestion-figures.js";

/**
 * What to buy for one location, and why. A SKU with a reorder rule follows
 * its rule. Without one, a SKU that sold in the history window gets a
 * forecast: demand over the supplier's lead time + safety stock for the
 * service level (z·σ·√LT), minus what is there and coming (available +
 * incoming), rounded up to the minimum order quantity and pack size.
 *
 * The forecast is the one the background job stored for the SKU
 * (stored-forecasts.ts) when it was made from the same history — today's, or
 * yesterday's until the job has made today's — and no sales for the days it
 * looked at have arrived since; otherwise it is made now from the sales
 * rollup, for at most `liveForecastLimit` SKUs per request (those with the
 * least stock first), and the rest are listed as pending. Every forecast
 * suggestion says which it used and when it was made.
 *
 * Listed most urgent first: SKUs to order, by `coverage` (what is there and
 * coming as a share of the level the rule or forecast aims for), then
 * pending ones, then (with `all`) those that need nothing; a page at a time.
 */

export interface SuggestionOptions {
  location: string;
  sku?: string;
  serviceLevel: number;
  historyDays: number;
  /** Lead time for SKUs no supplier sells. */
  defaultLeadTimeDays: number;
  /** Also list SKUs that need nothing now. */
  all: boolean;
  limit: number;
  cursor?: string;
  /** At most this many forecasts made during the request. */
  liveForecastLimit: number;
}

export interface ForecastInputs {
  model: DemandForecast["model"];
  history_days: number;
  daily_demand: number;
  demand_over_lead_time: number;
  sigma: number;
  service_level: number;
  z: number;
  safety_stock: number;
  /** `stored`: made by the background job; `computed_now`: made for this request. */
  source: "stored" | "computed_now";
  /** Last day of sales history the forecast saw (the day before it was made for). */
  history_through: string;
  computed_at: string;
}

export interface Suggestion {
  sku: string;
  location: string;
  quantity: number;
  method: "min_max" | "reorder_point" | "forecast";
  status: "ready" | "forecast_pending";
  supplier: string | null;
  supplier_name: string | null;
  supplier_sku: string | null;
  unit_cost: number | null;
  currency: string | null;
  lead_time_days: number;
  coverage: number | null;
  inputs: {
    on_hand: number;
    available: number;
    incoming: number;
    position: number;
    rule: {
      kind: "min_max" | "reorder_point";
      reorder_point: number;
      max: number | null;
      reorder_quantity: number | null;
      multiple: number | null;
    } | null;
    forecast: ForecastInputs | null;
  };
  raw_quantity: number;
  rounding: { min_order_qty: number; pack_size: number; from: number; to: number };
  explanation: string;
}

export interface SuggestionPage {
  data: Suggestion[];
  next_cursor: string | null;
  /** Over the whole list: forecasts read from the store, made for this request, and still pending. */
  forecasts: { stored: number; computed_now: number; pending: number };
}

export async function replenishmentSuggestions(db: DB, opts: SuggestionOptions): Promise<SuggestionPage> {
  const after = decodeCursor(opts.cursor, isSortKey);
  const z = inverseNormalCdf(opts.serviceLevel);
  const { loc, today, rows, sources, live, forecastSkus } = await withSalesSnapshot(
    db,
    async (tx, horizon) => {
      // plan each statement for its own values: the row counts behind the arrays passed in decide the joins
      await sql`set local plan_cache_mode = force_custom_plan`.execute(tx);
      return readInputs(tx, horizon, opts, z);
    },
  );
  const leadTimeOf = (c: Candidate) => sources.get(c.variant_id)?.leadTimeDays ?? opts.defaultLeadTimeDays;

  const forecasts = new Map<number, UsedForecast>();
  for (const c of rows) {
    if (c.rule_kind) continue;
    const history = live.get(c.variant_id);
    if (history) {
      const leadTime = leadTimeOf(c);
      const f = forecastDemand(history, leadTime);
      forecasts.set(c.variant_id, {
        model: f.model,
        demand: f.points.reduce((a, b) => a + b, 0),
        sigma: f.sigma,
        historyDays: f.historyDays,
        source: "computed_now",
        asOf: today,
        computedAt: Date.now(),
      });
      await yieldToEventLoop();
    } else if (c.f_demand !== null) {
      forecasts.set(c.variant_id, {
        model: c.f_model!,
        demand: c.f_demand,
        sigma: c.f_sigma!,
        historyDays: c.f_series_days!,
        source: "stored",
        asOf: c.f_as_of!,
        computedAt: c.f_computed_at!,
      });
    }
  }

  const listed: { f: Figures; key: SortKey }[] = [];
  const counts = { stored: 0, computed_now: 0, pending: 0 };
  for (const c of rows) {
    const used = forecasts.get(c.variant_id);
    if (!c.rule_kind && used?.source !== "stored") counts[used ? used.source : "pending"] += 1;
    const f = figures(c, sources.get(c.variant_id), used, z, opts);
    if (f.quantity > 0 || f.status === "forecast_pending" || opts.all) {
      const key = keyOf(f);
      if (!after || compareKeys(key, after) > 0) listed.push({ f, key });
    }
  }
  // SKUs left out by readInputs had a stored forecast that fits
  counts.stored = forecastSkus - counts.computed_now - counts.pending;
  listed.sort((a, b) => compareKeys(a.key, b.key));
  const page = listed.slice(0, opts.limit);
  return {
    data: page.map((x) => ({ ...describe(x.f, z, opts), location: loc.code })),
    next_cursor: listed.length > opts.limit ? encodeCursor(page[page.length - 1].key) : null,
    forecasts: counts,
  };
}

/**
 * Everything a request needs, read in one snapshot in a few set-based
 * statements: which SKUs to look at (a rule here, or sales in the window),
 * where each is bought, then their stock, rule and stored forecast. A stored
 * forecast is taken only when it fits (`StoredFit`); the history of up to
 * `liveForecastLimit` others, least stock first, is read to fit them now.
 */
async function readInputs(tx: Tx, horizon: string, opts: SuggestionOptions, z: number) {
  const loc = (await resolveLocations(tx, [{ code: opts.location, path: "query.location" }])).get(
    opts.location,
  )!;
  const today = await utcToday(tx);
  const days = opts.historyDays;
  const from = addDays(today, -days);
  // sale days not rolled up yet: they make SKUs candidates and stored forecasts stale
  const late = await sql<{ variant_id: number; day: string }>`
    select variant_id, ((created_at at time zone 'UTC')::date)::text as day from inventory_movements
    where reason = 'sale' and bucket = 'on_hand' and delta < 0 and txid >= ${horizon}::xid8
      and location_id = ${loc.id}
      and created_at >= (${today}::date - ${days + 1}::int)::timestamp at time zone 'UTC'
      and created_at < ${today}::date::timestamp at time zone 'UTC'
    group by 1, 2`.execute(tx);
  const lateDays = new Map<number, string[]>();
  for (const r of late.rows) lateDays.set(r.variant_id, [...(lateDays.get(r.variant_id) ?? []), r.day]);
  const lateInWindow = [...lateDays].filter(([, ds]) => ds.some((d) => d >= from)).map(([v]) => v);

  // SKUs with a rule here, or a sale on a complete day of the window
  const chosen = await sql<{ variant_id: number; rule_supplier: number | null; has_rule: boolean }>`
    with sold as (
      select variant_id from sales_last_day
      where location_id = ${loc.id} and last_day >= ${from}::date and last_day < ${today}::date
      union
      select d.variant_id from sales_last_day d
      where d.location_id = ${loc.id} and d.last_day >= ${today}::date
        and (select true from sales_daily s where s.location_id = ${loc.id} and s.variant_id = d.variant_id
             and s.day >= ${from}::date and s.day < ${today}::date limit 1)
      union
      select unnest(${lateInWindow}::bigint[])
    )
    select v.id as variant_id, r.supplier_id as rule_supplier, r.id is not null as has_rule
    from variants v left join reorder_rules r on r.variant_id = v.id and r.location_id = ${loc.id}
    where v.kind = 'physical' and (r.id is not null or v.id in (select variant_id from sold))
      ${opts.sku ? sql`and v.sku = ${opts.sku}` : sql``}`.execute(tx);

  const sources = await sourcingFor(
    tx,
    chosen.rows.filter((r) => r.rule_supplier === null).map((r) => r.variant_id),
  );
  // a rule that names its supplier buys from it: one query per named supplier
  const named = new Map<number, number[]>();
  for (const r of chosen.rows) {
    if (r.rule_supplier !== null)
      named.set(r.rule_supplier, [...(named.get(r.rule_supplier) ?? []), r.variant_id]);
  }
  for (const [supplierId, variantIds] of named) {
    for (const [variantId, option] of await sourcingFor(tx, variantIds, supplierId))
      sources.set(variantId, option);
  }
  const leadTimes = chosen.rows.map(
    (r) => sources.get(r.variant_id)?.leadTimeDays ?? opts.defaultLeadTimeDays,
  );

  // The stored forecast over the lead time is its running total at the lead
  // time (stored-forecasts.ts), the same to the last bit as adding the points up.
  // Unless all SKUs are asked for, those whose stored forecast fits and asks
  // for nothing stay here: the need is worked out again exactly below, so
  // the test only has to let every SKU that might need ordering through.
  const candidates = await sql<Candidate>`
    select v.id as variant_id, v.sku, coalesce(il.on_hand, 0) as on_hand, coalesce(il.available, 0) as available,
      coalesce(il.incoming, 0) as incoming, r.kind as rule_kind, r.reorder_point, r.max_quantity,
      r.reorder_quantity, r.multiple, r.supplier_id as rule_supplier,
      f.history_days as f_history_days, f.as_of::text as f_as_of, f.model as f_model, f.series_days as f_series_days,
      cardinality(f.totals) as f_horizon,
      case when x.lead_time <= cardinality(f.totals) then coalesce(f.totals[x.lead_time], 0) end as f_demand,
      f.sigma as f_sigma, f.stale as f_stale,
      (extract(epoch from f.computed_at) * 1000)::float8 as f_computed_at
    from unnest(${chosen.rows.map((r) => r.variant_id)}::bigint[], ${leadTimes}::int[]) as x(variant_id, lead_time)
    join variants v on v.id = x.variant_id
    left join inventory_levels il on il.variant_id = v.id and il.location_id = ${loc.id}
    left join reorder_rules r on r.variant_id = v.id and r.location_id = ${loc.id}
    left join demand_forecasts f on f.location_id = ${loc.id} and f.variant_id = v.id and r.id is null
    ${
      opts.all
        ? sql``
        : sql`where r.id is not null or f.variant_id is null or f.stale or f.totals is null
      or f.history_days <> ${days} or f.as_of not in (${today}::date, ${addDays(today, -1)}::date)
      or cardinality(f.totals) < x.lead_time or x.variant_id = any(${[...lateDays.keys()]}::bigint[])
      or coalesce(f.totals[x.lead_time], 0) + ${z}::float8 * f.sigma * sqrt(x.lead_time::float8)
         - (coalesce(il.available, 0) + coalesce(il.incoming, 0)) > -0.001`
    }
    order by v.sku`.execute(tx);
  const rows = candidates.rows;

  const fits = new StoredFit(today, days);
  const needLive = rows
    .filter((c) => {
      if (c.rule_kind) return false;
      const leadTime = sources.get(c.variant_id)?.leadTimeDays ?? opts.defaultLeadTimeDays;
      if (fits.check(c, leadTime, lateDays.get(c.variant_id))) return false;
      c.f_demand = null; // not this one: made now, or pending
      return true;
    })
    .sort((a, b) => a.available + a.incoming - (b.available + b.incoming) || (a.sku < b.sku ? -1 : 1))
    .slice(0, Math.max(opts.liveForecastLimit, opts.sku ? 1 : 0))
    .map((c) => c.variant_id);
  const live =
    needLive.length > 0
      ? await dailySales(tx, loc.id, days, today, { variantIds: needLive, horizon })
      : new Map<number, number[]>();
  return { loc, today, rows, sources, live, forecastSkus: chosen.rows.filter((r) => !r.has_rule).length };
}

/**
 * Whether a stored forecast is the one a request would make now: from the
 * same history window, made today — or yesterday, until the job has made
 * today's — not stale, far enough ahead for the lead time, and with no sales
 * for its days among the movements not rolled up yet (`late`).
 */
class StoredFit {
  private yesterday: string;
  private starts = new Map<string, string>();

  constructor(
    private today: string,
    private days: number,
  ) {
    this.yesterday = addDays(today, -1);
  }

  check(c: Candidate, leadTime: number, late: string[] = []): boolean {
    const asOf = c.f_as_of;
    if (asOf === null || c.f_stale || c.f_history_days !== this.days) return false;
    if (asOf !== this.today && asOf !== this.yesterday) return false;
    if (c.f_horizon! < leadTime) return false;
    if (late.length === 0) return true;
    let start = this.starts.get(asOf);
    if (start === undefined) {
      start = addDays(asOf, -this.days);
      this.starts.set(asOf, start);
    }
    return !late.some((d) => d < asOf && d >= start);
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
