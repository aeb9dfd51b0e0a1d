import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { resolveLocations } from "../inventory/refs.js";
import { type SourcingOption, sourcingFor } from "../purchasing/suppliers.js";
import { type DemandForecast, forecastDemand } from "./forecast.js";
import { dailySalesFromLedger as dailySales, utcToday } from "./history.js";
import { inverseNormalCdf } from "./normal.js";
import { type RuleSpec, roundToOrder, ruleNeed } from "./rounding.js";

/**
 * What to buy for one location, and why. A SKU with a reorder rule follows
 * its rule. Without one, a SKU that sold in the history window gets a
 * forecast: demand over the supplier's lead time + safety stock for the
 * service level (z·σ·√LT), minus what is there and coming (available +
 * incoming), rounded up to the minimum order quantity and pack size.
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
}

export interface Suggestion {
  sku: string;
  location: string;
  quantity: number;
  method: "min_max" | "reorder_point" | "forecast";
  supplier: string | null;
  supplier_name: string | null;
  supplier_sku: string | null;
  unit_cost: number | null;
  currency: string | null;
  lead_time_days: number;
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
    forecast: {
      model: DemandForecast["model"];
      history_days: number;
      daily_demand: number;
      demand_over_lead_time: number;
      sigma: number;
      service_level: number;
      z: number;
      safety_stock: number;
    } | null;
  };
  raw_quantity: number;
  rounding: { min_order_qty: number; pack_size: number; from: number; to: number };
  explanation: string;
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
}

const round2 = (v: number) => Math.round(v * 100) / 100;

export async function replenishmentSuggestions(db: DB, opts: SuggestionOptions): Promise<Suggestion[]> {
  const loc = (await resolveLocations(db, [{ code: opts.location, path: "query.location" }])).get(
    opts.location,
  )!;
  const today = await utcToday(db);
  const sales = await dailySales(db, loc.id, opts.historyDays, today);
  const candidates = await sql<Candidate>`
    select v.id as variant_id, v.sku, coalesce(il.on_hand, 0) as on_hand, coalesce(il.available, 0) as available,
      coalesce(il.incoming, 0) as incoming, r.kind as rule_kind, r.reorder_point, r.max_quantity,
      r.reorder_quantity, r.multiple, r.supplier_id as rule_supplier
    from variants v
    left join inventory_levels il on il.variant_id = v.id and il.location_id = ${loc.id}
    left join reorder_rules r on r.variant_id = v.id and r.location_id = ${loc.id}
    where v.kind = 'physical'
      and (r.id is not null or v.id = any(${[...sales.keys()]}::bigint[]))
      ${opts.sku ? sql`and v.sku = ${opts.sku}` : sql``}
    order by v.sku`.execute(db);
  const rows = candidates.rows;
  const preferred = await sourcingFor(
    db,
    rows.filter((r) => r.rule_supplier === null).map((r) => r.variant_id),
  );
  // a rule that names its supplier buys from it
  for (const r of rows.filter((c) => c.rule_supplier !== null)) {
    const named = await sourcingFor(db, [r.variant_id], r.rule_supplier!);
    const option = named.get(r.variant_id);
    if (option) preferred.set(r.variant_id, option);
  }
  const z = inverseNormalCdf(opts.serviceLevel);
  const out: Suggestion[] = [];
  for (const c of rows) {
    const s = suggest(c, preferred.get(c.variant_id), sales.get(c.variant_id) ?? [], z, opts);
    if (s.quantity > 0 || opts.all) out.push({ ...s, location: loc.code });
  }
  return out;
}

function suggest(
  c: Candidate,
  source: SourcingOption | undefined,
  history: number[],
  z: number,
  opts: SuggestionOptions,
): Omit<Suggestion, "location"> & { location?: string } {
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

  const f = forecastDemand(history, leadTime);
  const demand = f.points.reduce((a, b) => a + b, 0);
  const safety = z * f.sigma * Math.sqrt(leadTime);
  const raw = demand + safety - position;
  const quantity = roundToOrder(raw, moq, pack);
  const daily = leadTime > 0 ? demand / leadTime : (f.points[0] ?? 0);
  const explanation =
    `forecast ${round2(daily)}/day (${f.model}, ${f.historyDays} days of sales) × lead time ${leadTime} days = ${round2(demand)}; ` +
    `safety stock z ${round2(z)} × σ ${round2(f.sigma)} × √${leadTime} = ${round2(safety)}; ` +
    `minus available ${c.available} + incoming ${c.incoming} = ${round2(raw)}` +
    (quantity > 0 ? `, rounded to ${quantity} (MOQ ${moq}, packs of ${pack}) ${who}` : ": nothing to order");
  return {
    ...base,
    quantity,
    method: "forecast",
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
      },
    },
    raw_quantity: round2(raw),
    rounding: { min_order_qty: moq, pack_size: pack, from: Math.max(0, Math.ceil(raw - 1e-9)), to: quantity },
    explanation,
  };
}
