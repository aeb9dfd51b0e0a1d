import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { decodeCursor, encodeCursor } from "../http/pagination.js";
import { resolveLocations } from "../inventory/refs.js";
import { type SourcingOption, sourcingFor } from "../purchasing/suppliers.js";
import { type DemandForecast, forecastDemand } from "./forecast.js";
import { addDays, dailySales, utcToday, withSalesSnapshot } from "./history.js";
import { inverseNormalCdf } from "./normal.js";
import { type RuleSpec, roundToOrder, ruleNeed } from "./rounding.js";

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

interface Candidate {
  variant_id: number;
  sku: string;
  on_hand: number;
  available: number;
  incoming: number;
  rule_kind: RuleSpec["kind"] | null;
  reorder_point: number | null;
  max_quantity: number | null;
  reorder_quantity: number | null;
  multiple: number | null;
  rule_supplier: number | null;
  f_history_days: number | null;
  f_as_of: string | null;
  f_model: DemandForecast["model"] | null;
  f_series_days: number | null;
  /** How many days ahead the stored forecast goes. */
  f_horizon: number | null;
  /** The stored forecast summed over this SKU's lead time, in SQL (see readInputs). */
  f_demand: number | null;
  f_sigma: number | null;
  f_stale: boolean | null;
  /** Epoch milliseconds; written out for the page only. */
  f_computed_at: number | null;
}

/** A forecast over the lead time, and where it came from. */
interface UsedForecast {
  model: DemandForecast["model"];
  /** Forecast units over the lead time: the daily points summed in order. */
  demand: number;
  sigma: number;
  historyDays: number;
  source: ForecastInputs["source"];
  asOf: string;
  /** Epoch milliseconds. */
  computedAt: number;
}

/** The numbers of one suggestion, enough to sort the list; written out in full for the page only. */
interface Figures {
  c: Candidate;
  source: SourcingOption | undefined;
  used: UsedForecast | undefined;
  position: number;
  leadTime: number;
  moq: number;
  pack: number;
  raw: number;
  quantity: number;
  status: Suggestion["status"];
  coverage: number | null;
  rule: RuleSpec | null;
  demand: number;
  safety: number;
  daily: number;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

type SortKey = [group: number, coverage: number | null, sku: string];
const isSortKey = (v: unknown): v is SortKey =>
  Array.isArray(v) &&
  v.length === 3 &&
  Number.isInteger(v[0]) &&
  (v[1] === null || typeof v[1] === "number") &&
  typeof v[2] === "string";

function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) {
    if (a[1] === null) return 1;
    if (b[1] === null) return -1;
    return a[1] - b[1];
  }
  return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
}

const keyOf = (f: Figures): SortKey => [
  f.status === "forecast_pending" ? 1 : f.quantity > 0 ? 0 : 2,
  f.coverage,
  f.c.sku,
];

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

function figures(
  c: Candidate,
  source: SourcingOption | undefined,
  used: UsedForecast | undefined,
  z: number,
  opts: SuggestionOptions,
): Figures {
  // object literals, no spreads: this runs for every SKU of the location
  const position = c.available + c.incoming;
  const leadTime = source?.leadTimeDays ?? opts.defaultLeadTimeDays;
  const moq = source?.minOrderQty ?? 1;
  if (c.rule_kind) {
    const rule: RuleSpec = {
      kind: c.rule_kind,
      reorder_point: c.reorder_point!,
      max_quantity: c.max_quantity,
      reorder_quantity: c.reorder_quantity,
    };
    const pack = c.multiple || (source?.packSize ?? 1);
    const raw = ruleNeed(rule, position);
    const target = rule.kind === "min_max" ? (rule.max_quantity ?? rule.reorder_point) : rule.reorder_point;
    return {
      c,
      source,
      used,
      position,
      leadTime,
      moq,
      pack,
      raw,
      quantity: roundToOrder(raw, moq, pack),
      status: "ready",
      coverage: coverage(position, target),
      rule,
      demand: 0,
      safety: 0,
      daily: 0,
    };
  }
  const pack = source?.packSize ?? 1;
  if (!used) {
    return {
      c,
      source,
      used,
      position,
      leadTime,
      moq,
      pack,
      raw: 0,
      quantity: 0,
      status: "forecast_pending",
      coverage: null,
      rule: null,
      demand: 0,
      safety: 0,
      daily: 0,
    };
  }
  const demand = used.demand;
  const safety = z * used.sigma * Math.sqrt(leadTime);
  const raw = demand + safety - position;
  return {
    c,
    source,
    used,
    position,
    leadTime,
    moq,
    pack,
    raw,
    quantity: roundToOrder(raw, moq, pack),
    status: "ready",
    coverage: coverage(position, demand + safety),
    rule: null,
    demand,
    safety,
    daily: leadTime > 0 ? demand / leadTime : 0,
  };
}

/** What is there and coming as a share of the level aimed for; null when nothing is aimed for and stock is there. */
function coverage(position: number, target: number): number | null {
  if (target > 0) return Math.round((position / target) * 10000) / 10000;
  return position > 0 ? null : 0;
}

/** A suggestion written out: its inputs and the sentence explaining it. */
function describe(f: Figures, z: number, opts: SuggestionOptions): Omit<Suggestion, "location"> {
  const { c, source, used, position, leadTime, moq, pack, raw, quantity, rule } = f;
  const base = {
    sku: c.sku,
    quantity,
    status: f.status,
    supplier: source?.supplier ?? null,
    supplier_name: source?.supplierName ?? null,
    supplier_sku: source?.supplierSku ?? null,
    unit_cost: source?.cost ?? null,
    currency: source?.currency ?? null,
    lead_time_days: leadTime,
    coverage: f.coverage,
  };
  const stock = { on_hand: c.on_hand, available: c.available, incoming: c.incoming, position };
  const who = source ? `from ${source.supplier}` : "(no supplier sells it yet)";

  if (rule) {
    const explanation =
      rule.kind === "min_max"
        ? position < rule.reorder_point
          ? `position ${position} (available ${c.available} + incoming ${c.incoming}) is below the minimum ${rule.reorder_point}: order up to the maximum ${rule.max_quantity}, ${raw} units, rounded to ${quantity} (MOQ ${moq}, packs of ${pack}) ${who}`
          : `position ${position} is not below the minimum ${rule.reorder_point}: nothing to order`
        : position <= rule.reorder_point
          ? `position ${position} (available ${c.available} + incoming ${c.incoming}) is at or below the reorder point ${rule.reorder_point}: order ${raw} (${raw / rule.reorder_quantity!} × ${rule.reorder_quantity}), rounded to ${quantity} (MOQ ${moq}, packs of ${pack}) ${who}`
          : `position ${position} is above the reorder point ${rule.reorder_point}: nothing to order`;
    return {
      ...base,
      method: rule.kind,
      inputs: {
        ...stock,
        rule: {
          kind: rule.kind,
          reorder_point: rule.reorder_point,
          max: rule.max_quantity,
          reorder_quantity: rule.reorder_quantity,
          multiple: c.multiple,
        },
        forecast: null,
      },
      raw_quantity: raw,
      rounding: { min_order_qty: moq, pack_size: pack, from: raw, to: quantity },
      explanation,
    };
  }

  if (!used) {
    return {
      ...base,
      method: "forecast",
      inputs: { ...stock, rule: null, forecast: null },
      raw_quantity: 0,
      rounding: { min_order_qty: moq, pack_size: pack, from: 0, to: 0 },
      explanation:
        `no forecast yet: sales arrived since the background job last forecast this SKU, and this request made ` +
        `only ${opts.liveForecastLimit} forecasts itself; the job makes it within minutes, or ask for this SKU alone (?sku=)`,
    };
  }

  const { demand, safety, daily } = f;
  const through = addDays(used.asOf, -1);
  const computedAt = new Date(Math.floor(used.computedAt)).toISOString();
  const made =
    used.source === "stored" ? `, made ${computedAt.slice(0, 16).replace("T", " ")} UTC` : ", made now";
  const explanation =
    `forecast ${round2(daily)}/day (${used.model}, ${used.historyDays} days of sales to ${through}${made}) × lead time ${leadTime} days = ${round2(demand)}; ` +
    `safety stock z ${round2(z)} × σ ${round2(used.sigma)} × √${leadTime} = ${round2(safety)}; ` +
    `minus available ${c.available} + incoming ${c.incoming} = ${round2(raw)}` +
    (quantity > 0 ? `, rounded to ${quantity} (MOQ ${moq}, packs of ${pack}) ${who}` : ": nothing to order");
  return {
    ...base,
    method: "forecast",
    inputs: {
      ...stock,
      rule: null,
      forecast: {
        model: used.model,
        history_days: used.historyDays,
        daily_demand: round2(daily),
        demand_over_lead_time: round2(demand),
        sigma: round2(used.sigma),
        service_level: opts.serviceLevel,
        z: Math.round(z * 10000) / 10000,
        safety_stock: round2(safety),
        source: used.source,
        history_through: through,
        computed_at: computedAt,
      },
    },
    raw_quantity: round2(raw),
    rounding: { min_order_qty: moq, pack_size: pack, from: Math.max(0, Math.ceil(raw - 1e-9)), to: quantity },
    explanation,
  };
}
