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
  f_points: number[] | null;
  f_sigma: number | null;
  f_stale: boolean | null;
  f_computed_at: Date | null;
}

/** A forecast and where it came from. */
interface UsedForecast {
  forecast: DemandForecast;
  source: ForecastInputs["source"];
  asOf: string;
  computedAt: Date;
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

const keyOf = (s: Suggestion): SortKey => [
  s.status === "forecast_pending" ? 1 : s.quantity > 0 ? 0 : 2,
  s.coverage,
  s.sku,
];

export async function replenishmentSuggestions(db: DB, opts: SuggestionOptions): Promise<SuggestionPage> {
  const after = decodeCursor(opts.cursor, isSortKey);
  const read = await withSalesSnapshot(db, (tx, horizon) => readInputs(tx, horizon, opts));
  const { loc, today, rows, sources, live, lateDays } = read;

  const forecasts = new Map<number, UsedForecast>();
  const missing: Candidate[] = [];
  for (const c of rows) {
    if (c.rule_kind) continue;
    const leadTime = sources.get(c.variant_id)?.leadTimeDays ?? opts.defaultLeadTimeDays;
    if (storedFits(c, leadTime, today, opts.historyDays, lateDays.get(c.variant_id))) {
      forecasts.set(c.variant_id, {
        forecast: {
          model: c.f_model!,
          points: c.f_points!,
          sigma: c.f_sigma!,
          historyDays: c.f_series_days!,
        },
        source: "stored",
        asOf: c.f_as_of!,
        computedAt: c.f_computed_at!,
      });
    } else {
      missing.push(c);
    }
  }
  for (const c of missing) {
    const history = live.get(c.variant_id);
    if (!history) continue;
    const leadTime = sources.get(c.variant_id)?.leadTimeDays ?? opts.defaultLeadTimeDays;
    forecasts.set(c.variant_id, {
      forecast: forecastDemand(history, leadTime),
      source: "computed_now",
      asOf: today,
      computedAt: new Date(),
    });
    await yieldToEventLoop();
  }

  const z = inverseNormalCdf(opts.serviceLevel);
  const all: Suggestion[] = [];
  const counts = { stored: 0, computed_now: 0, pending: 0 };
  for (const c of rows) {
    const used = forecasts.get(c.variant_id);
    if (!c.rule_kind) counts[used ? used.source : "pending"] += 1;
    const s = { ...suggest(c, sources.get(c.variant_id), used, z, opts), location: loc.code };
    if (s.quantity > 0 || s.status === "forecast_pending" || opts.all) all.push(s);
  }
  const sorted = all
    .map((s) => ({ s, key: keyOf(s) }))
    .filter((x) => !after || compareKeys(x.key, after) > 0)
    .sort((a, b) => compareKeys(a.key, b.key));
  const page = sorted.slice(0, opts.limit);
  return {
    data: page.map((x) => x.s),
    next_cursor: sorted.length > opts.limit ? encodeCursor(page[page.length - 1].key) : null,
    forecasts: counts,
  };
}

/** Everything a request needs, read in one snapshot in a few set-based statements. */
async function readInputs(tx: Tx, horizon: string, opts: SuggestionOptions) {
  const loc = (await resolveLocations(tx, [{ code: opts.location, path: "query.location" }])).get(
    opts.location,
  )!;
  const today = await utcToday(tx);
  const days = opts.historyDays;
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
  const from = addDays(today, -days);
  const lateInWindow = [...lateDays].filter(([, ds]) => ds.some((d) => d >= from)).map(([v]) => v);

  const candidates = await sql<Candidate>`
    with sold as (
      select variant_id from sales_last_day
      where location_id = ${loc.id} and last_day >= ${from}::date and last_day < ${today}::date
      union
      select d.variant_id from sales_last_day d
      where d.location_id = ${loc.id} and d.last_day >= ${today}::date and exists (
        select 1 from sales_daily s where s.location_id = ${loc.id} and s.variant_id = d.variant_id
          and s.day >= ${from}::date and s.day < ${today}::date)
      union
      select unnest(${lateInWindow}::bigint[])
    )
    select v.id as variant_id, v.sku, coalesce(il.on_hand, 0) as on_hand, coalesce(il.available, 0) as available,
      coalesce(il.incoming, 0) as incoming, r.kind as rule_kind, r.reorder_point, r.max_quantity,
      r.reorder_quantity, r.multiple, r.supplier_id as rule_supplier,
      f.history_days as f_history_days, f.as_of::text as f_as_of, f.model as f_model, f.series_days as f_series_days,
      f.points as f_points, f.sigma as f_sigma, f.stale as f_stale, f.computed_at as f_computed_at
    from variants v
    left join inventory_levels il on il.variant_id = v.id and il.location_id = ${loc.id}
    left join reorder_rules r on r.variant_id = v.id and r.location_id = ${loc.id}
    left join demand_forecasts f on f.location_id = ${loc.id} and f.variant_id = v.id and r.id is null
    where v.kind = 'physical'
      and (r.id is not null or v.id in (select variant_id from sold))
      ${opts.sku ? sql`and v.sku = ${opts.sku}` : sql``}
    order by v.sku`.execute(tx);
  const rows = candidates.rows;

  const sources = await sourcingFor(
    tx,
    rows.filter((r) => r.rule_supplier === null).map((r) => r.variant_id),
  );
  // a rule that names its supplier buys from it: one query per named supplier
  const named = new Map<number, number[]>();
  for (const r of rows) {
    if (r.rule_supplier !== null)
      named.set(r.rule_supplier, [...(named.get(r.rule_supplier) ?? []), r.variant_id]);
  }
  for (const [supplierId, variantIds] of named) {
    for (const [variantId, option] of await sourcingFor(tx, variantIds, supplierId))
      sources.set(variantId, option);
  }

  // history for the SKUs whose stored forecast cannot be used, least stock first, up to the limit
  const needLive = rows
    .filter(
      (c) =>
        !c.rule_kind &&
        !storedFits(
          c,
          sources.get(c.variant_id)?.leadTimeDays ?? opts.defaultLeadTimeDays,
          today,
          days,
          lateDays.get(c.variant_id),
        ),
    )
    .sort((a, b) => a.available + a.incoming - (b.available + b.incoming) || (a.sku < b.sku ? -1 : 1))
    .slice(0, Math.max(opts.liveForecastLimit, opts.sku ? 1 : 0))
    .map((c) => c.variant_id);
  const live =
    needLive.length > 0
      ? await dailySales(tx, loc.id, days, today, { variantIds: needLive, horizon })
      : new Map<number, number[]>();
  return { loc, today, rows, sources, live, lateDays };
}

/**
 * Whether the stored forecast is the one a request would make now: from the
 * same history window, made today — or yesterday, until the job has made
 * today's — not stale, far enough ahead for the lead time, and with no sales
 * for its days among the movements not rolled up yet (`late`).
 */
function storedFits(
  c: Candidate,
  leadTime: number,
  today: string,
  days: number,
  late: string[] = [],
): boolean {
  const asOf = c.f_as_of;
  if (asOf === null || c.f_stale || c.f_history_days !== days) return false;
  if (asOf !== today && asOf !== addDays(today, -1)) return false;
  if (c.f_points!.length < leadTime) return false;
  const start = addDays(asOf, -days);
  return !late.some((d) => d < asOf && d >= start);
}

function suggest(
  c: Candidate,
  source: SourcingOption | undefined,
  used: UsedForecast | undefined,
  z: number,
  opts: SuggestionOptions,
): Omit<Suggestion, "location"> {
  const position = c.available + c.incoming;
  const leadTime = source?.leadTimeDays ?? opts.defaultLeadTimeDays;
  const moq = source?.minOrderQty ?? 1;
  let pack = source?.packSize ?? 1;
  const base = {
    sku: c.sku,
    supplier: source?.supplier ?? null,
    supplier_name: source?.supplierName ?? null,
    supplier_sku: source?.supplierSku ?? null,
    unit_cost: source?.cost ?? null,
    currency: source?.currency ?? null,
    lead_time_days: leadTime,
  };
  const stock = { on_hand: c.on_hand, available: c.available, incoming: c.incoming, position };
  const who = source ? `from ${source.supplier}` : "(no supplier sells it yet)";
  const coverage = (target: number) =>
    target > 0 ? Math.round((position / target) * 10000) / 10000 : position > 0 ? null : 0;

  if (c.rule_kind) {
    const rule: RuleSpec = {
      kind: c.rule_kind,
      reorder_point: c.reorder_point!,
      max_quantity: c.max_quantity,
      reorder_quantity: c.reorder_quantity,
    };
    if (c.multiple) pack = c.multiple;
    const raw = ruleNeed(rule, position);
    const quantity = roundToOrder(raw, moq, pack);
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
      quantity,
      method: rule.kind,
      status: "ready",
      coverage: coverage(
        rule.kind === "min_max" ? (rule.max_quantity ?? rule.reorder_point) : rule.reorder_point,
      ),
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
      quantity: 0,
      method: "forecast",
      status: "forecast_pending",
      coverage: null,
      inputs: { ...stock, rule: null, forecast: null },
      raw_quantity: 0,
      rounding: { min_order_qty: moq, pack_size: pack, from: 0, to: 0 },
      explanation:
        `no forecast yet: sales arrived since the background job last forecast this SKU, and this request made ` +
        `only ${opts.liveForecastLimit} forecasts itself; the job makes it within minutes, or ask for this SKU alone (?sku=)`,
    };
  }

  const f = used.forecast;
  // the forecast for each day of the lead time (a stored forecast keeps more days; its first ones are the same)
  const points = f.points.slice(0, leadTime);
  const demand = points.reduce((a, b) => a + b, 0);
  const safety = z * f.sigma * Math.sqrt(leadTime);
  const raw = demand + safety - position;
  const quantity = roundToOrder(raw, moq, pack);
  const daily = leadTime > 0 ? demand / leadTime : (points[0] ?? 0);
  const made =
    used.source === "stored"
      ? `, made ${used.computedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`
      : ", made now";
  const explanation =
    `forecast ${round2(daily)}/day (${f.model}, ${f.historyDays} days of sales to ${addDays(used.asOf, -1)}${made}) × lead time ${leadTime} days = ${round2(demand)}; ` +
    `safety stock z ${round2(z)} × σ ${round2(f.sigma)} × √${leadTime} = ${round2(safety)}; ` +
    `minus available ${c.available} + incoming ${c.incoming} = ${round2(raw)}` +
    (quantity > 0 ? `, rounded to ${quantity} (MOQ ${moq}, packs of ${pack}) ${who}` : ": nothing to order");
  return {
    ...base,
    quantity,
    method: "forecast",
    status: "ready",
    coverage: coverage(demand + safety),
    inputs: {
      ...stock,
      rule: null,
      forecast: {
        model: f.model,
        history_days: f.historyDays,
        daily_demand: round2(daily),
        demand_over_lead_time: round2(demand),
        sigma: round2(f.sigma),
        service_level: opts.serviceLevel,
        z: Math.round(z * 10000) / 10000,
        safety_stock: round2(safety),
        source: used.source,
        history_through: addDays(used.asOf, -1),
        computed_at: used.computedAt.toISOString(),
      },
    },
    raw_quantity: round2(raw),
    rounding: { min_order_qty: moq, pack_size: pack, from: Math.max(0, Math.ceil(raw - 1e-9)), to: quantity },
    explanation,
  };
}
