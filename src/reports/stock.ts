import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { replenishmentSettings } from "../replenishment/settings.js";
import { replenishmentSuggestions, type Suggestion } from "../replenishment/suggestions.js";
import { dbNow, drill, locationId, report } from "./report.js";

/** Every suggestion line of a location (all SKUs replenishment looks at: a rule here or sales in its window). */
async function allSuggestions(db: DB, location: string): Promise<Suggestion[]> {
  const s = await replenishmentSettings(db);
  // one call for every SKU (its pages would each read the whole location again), stored forecasts only:
  // a report does not fit models on the request path, SKUs whose forecast is pending show without one
  const page = await replenishmentSuggestions(db, {
    location,
    serviceLevel: s.service_level,
    historyDays: s.history_days,
    defaultLeadTimeDays: s.default_lead_time_days,
    all: true,
    limit: Number.MAX_SAFE_INTEGER,
    liveForecastLimit: 0,
  });
  return page.data;
}

async function locationsFor(db: DB, code: string | undefined): Promise<{ id: number; code: string }[]> {
  if (code) return [{ id: await locationId(db, code), code }];
  return db
    .selectFrom("locations")
    .select(["id", "code"])
    .where("active", "=", true)
    .orderBy("code")
    .execute();
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * SKUs in critical stock at a location (or each active one): available at or
 * below the SKU's low-stock threshold, or fewer days of cover (available ÷
 * forecast daily demand) than the supplier's lead time. Each row carries the
 * replenishment suggestion's order quantity and supplier (0 when the rule or
 * forecast asks for nothing yet).
 */
export async function criticalStock(db: DB, q: { location?: string }) {
  const rows = [];
  for (const loc of await locationsFor(db, q.location)) {
    const suggestions = new Map((await allSuggestions(db, loc.code)).map((s) => [s.sku, s]));
    const thresholds = await sql<{
      sku: string;
      threshold: number;
      available: number;
      on_hand: number;
      incoming: number;
    }>`
      select v.sku, v.low_stock_threshold as threshold, coalesce(il.available, 0) as available,
        coalesce(il.on_hand, 0) as on_hand, coalesce(il.incoming, 0) as incoming
      from variants v join products p on p.id = v.product_id
      join inventory_levels il on il.variant_id = v.id and il.location_id = ${loc.id}
      where v.kind = 'physical' and p.status = 'active' and v.low_stock_threshold is not null`.execute(db);
    const byThreshold = new Map(thresholds.rows.map((t) => [t.sku, t]));
    const skus = new Set([...suggestions.keys(), ...byThreshold.keys()]);
    for (const sku of [...skus].sort()) {
      const s = suggestions.get(sku);
      const t = byThreshold.get(sku);
      const available = s?.inputs.available ?? t?.available ?? 0;
      const daily = s?.inputs.forecast?.daily_demand ?? null;
      const cover = daily && daily > 0 ? r2(available / daily) : null;
      const lead = s?.lead_time_days ?? null;
      const reasons: string[] = [];
      if (t && available <= t.threshold) reasons.push("at_or_below_threshold");
      if (cover !== null && lead !== null && cover < lead) reasons.push("cover_below_lead_time");
      if (reasons.length === 0) continue;
      rows.push({
        sku,
        location: loc.code,
        available,
        on_hand: s?.inputs.on_hand ?? t?.on_hand ?? 0,
        incoming: s?.inputs.incoming ?? t?.incoming ?? 0,
        threshold: t?.threshold ?? null,
        daily_demand: daily === null ? null : r2(daily),
        days_of_cover: cover,
        lead_time_days: lead,
        reasons,
        suggested_quantity: s?.quantity ?? null,
        supplier: s?.supplier ?? null,
        drill: drill("/v1/replenishment/suggestions", { location: loc.code, sku }),
      });
    }
  }
  return report(rows, "live");
}

/** Φ, the standard normal CDF (Abramowitz–Stegun 7.1.26, error < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/**
 * SKUs whose forecast demand over the supplier's lead time exceeds what they
 * will have by then (available + incoming), per location: the shortfall and
 * the probability of a stock-out before a new order can arrive, with demand
 * over the lead time ~ Normal(forecast, σ·√lead time).
 */
export async function stockoutRisk(db: DB, q: { location?: string }) {
  const rows = [];
  for (const loc of await locationsFor(db, q.location)) {
    for (const s of await allSuggestions(db, loc.code)) {
      const f = s.inputs.forecast;
      if (!f) continue;
      const supply = s.inputs.available + s.inputs.incoming;
      const demand = f.demand_over_lead_time;
      const spread = f.sigma * Math.sqrt(s.lead_time_days);
      const p = spread > 0 ? 1 - normalCdf((supply - demand) / spread) : demand > supply ? 1 : 0;
      if (demand <= supply && p < 0.5) continue;
      rows.push({
        sku: s.sku,
        location: loc.code,
        available: s.inputs.available,
        incoming: s.inputs.incoming,
        lead_time_days: s.lead_time_days,
        demand_over_lead_time: r2(demand),
        shortfall: r2(Math.max(0, demand - supply)),
        stockout_probability: Math.round(p * 1000) / 1000,
        suggested_quantity: s.quantity,
        drill: drill("/v1/replenishment/suggestions", { location: loc.code, sku: s.sku }),
      });
    }
  }
  rows.sort((a, b) => b.stockout_probability - a.stockout_probability || a.sku.localeCompare(b.sku));
  return report(rows, "live");
}

/**
 * Stock value at moving-average cost per location and cost currency: units
 * on hand (sellable) and held aside (quarantine, damaged, awaiting return
 * inspection) times each variant's moving-average cost; units of variants
 * with no cost yet are counted, not valued.
 */
export async function stockValuation(db: DB, q: { location?: string }) {
  const loc = q.location ? await locationId(db, q.location) : null;
  const r = await sql<{
    location: string;
    currency: string | null;
    skus: number;
    on_hand: number;
    held: number;
    on_hand_value: number;
    held_value: number;
    uncosted_units: number;
  }>`
    select l.code as location, c.currency, count(*) filter (where il.on_hand > 0)::int as skus,
      sum(il.on_hand)::bigint as on_hand, sum(il.quarantine + il.damaged + il.return_pending)::bigint as held,
      coalesce(round(sum(il.on_hand * c.avg_cost)), 0)::bigint as on_hand_value,
      coalesce(round(sum((il.quarantine + il.damaged + il.return_pending) * c.avg_cost)), 0)::bigint as held_value,
      coalesce(sum(il.on_hand + il.quarantine + il.damaged + il.return_pending) filter (where c.variant_id is null), 0)::bigint as uncosted_units
    from inventory_levels il join locations l on l.id = il.location_id
    left join variant_costs c on c.variant_id = il.variant_id
    where (il.on_hand > 0 or il.quarantine > 0 or il.damaged > 0 or il.return_pending > 0)
      ${loc !== null ? sql`and il.location_id = ${loc}` : sql``}
    group by l.code, c.currency order by l.code, c.currency nulls last`.execute(db);
  return report(
    r.rows.map((x) => ({
      location: x.location,
      currency: x.currency,
      skus: x.skus,
      units_on_hand: x.on_hand,
      units_held: x.held,
      on_hand_value: x.currency ? x.on_hand_value : null,
      held_value: x.currency ? x.held_value : null,
      uncosted_units: x.uncosted_units,
      drill: drill("/v1/inventory/levels", { location: x.location }),
    })),
    "live",
  );
}

/** Receipt-age buckets in days: [from, to). */
export const STOCK_AGE_BUCKETS: [string, number, number | null][] = [
  ["0-30d", 0, 30],
  ["31-60d", 30, 60],
  ["61-90d", 60, 90],
  ["91-180d", 90, 180],
  ["181-365d", 180, 365],
  ["365d+", 365, null],
];

/**
 * Units on hand per location by how long ago they arrived, first in first
 * out: the units on hand are taken to be the latest arrivals (receipts,
 * returns, transfers in, positive adjustments — any unit added to on hand),
 * newest first, until the on-hand quantity is covered. Value at
 * moving-average cost.
 */
export async function agedInventory(db: DB, q: { location?: string }) {
  const loc = q.location ? await locationId(db, q.location) : null;
  const now = await dbNow(db);
  const r = await sql<{ location: string; age_days: number; units: number; value: number | null }>`
    with lv as (
      select il.variant_id, il.location_id, il.on_hand from inventory_levels il
      where il.on_hand > 0 ${loc !== null ? sql`and il.location_id = ${loc}` : sql``}
    ), arrivals as (
      select lv.variant_id, lv.location_id, lv.on_hand, m.created_at, m.delta,
        sum(m.delta) over (partition by lv.variant_id, lv.location_id order by m.id desc) as cum
      from lv join inventory_movements m on m.variant_id = lv.variant_id and m.location_id = lv.location_id
      where m.bucket = 'on_hand' and m.delta > 0
    ), taken as (
      select variant_id, location_id, created_at, least(delta, on_hand - (cum - delta))::int as units
      from arrivals where cum - delta < on_hand
    )
    select l.code as location, floor(extract(epoch from (${now}::timestamptz - t.created_at)) / 86400)::int as age_days,
      sum(t.units)::int as units, round(sum(t.units * c.avg_cost))::bigint as value
    from taken t join locations l on l.id = t.location_id left join variant_costs c on c.variant_id = t.variant_id
    group by 1, 2`.execute(db);
  const rows = new Map<string, { location: string; age: string; units: number; value: number }>();
  for (const x of r.rows) {
    const b = STOCK_AGE_BUCKETS.find(([, lo, hi]) => x.age_days >= lo && (hi === null || x.age_days < hi))!;
    const key = `${x.location}\u0000${b[0]}`;
    const row = rows.get(key) ?? { location: x.location, age: b[0], units: 0, value: 0 };
    row.units += x.units;
    row.value += x.value ?? 0;
    rows.set(key, row);
  }
  const idx = (a: string) => STOCK_AGE_BUCKETS.findIndex(([n]) => n === a);
  return report(
    [...rows.values()]
      .sort((a, b) => a.location.localeCompare(b.location) || idx(a.age) - idx(b.age))
      .map((x) => ({ ...x, drill: drill("/v1/inventory/levels", { location: x.location }) })),
    "live",
    now,
  );
}
