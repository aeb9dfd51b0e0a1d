import type { SourcingOption } from "../purchasing/suppliers.js";
import type { DemandForecast } from "./forecast.js";
import { addDays } from "./history.js";
import { type RuleSpec, roundToOrder, ruleNeed } from "./rounding.js";
import type { ForecastInputs, Suggestion, SuggestionOptions } from "./suggestions.js";

/**
 * One replenishment suggestion's numbers (position, demand over the lead
 * time, safety stock, the quantity rounded to the supplier's terms), how
 * suggestions sort, and the suggestion written out with the sentence that
 * explains it. Pure functions of what suggestions.ts reads.
 */

export interface Candidate {
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
export interface UsedForecast {
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
export interface Figures {
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

export const round2 = (v: number) => Math.round(v * 100) / 100;

export type SortKey = [group: number, coverage: number | null, sku: string];
export const isSortKey = (v: unknown): v is SortKey =>
  Array.isArray(v) &&
  v.length === 3 &&
  Number.isInteger(v[0]) &&
  (v[1] === null || typeof v[1] === "number") &&
  typeof v[2] === "string";

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) {
    if (a[1] === null) return 1;
    if (b[1] === null) return -1;
    return a[1] - b[1];
  }
  return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
}

export const keyOf = (f: Figures): SortKey => [
  f.status === "forecast_pending" ? 1 : f.quantity > 0 ? 0 : 2,
  f.coverage,
  f.c.sku,
];

export function figures(
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
export function coverage(position: number, target: number): number | null {
  if (target > 0) return Math.round((position / target) * 10000) / 10000;
  return position > 0 ? null : 0;
}

/** A suggestion written out: its inputs and the sentence explaining it. */
export function describe(f: Figures, z: number, opts: SuggestionOptions): Omit<Suggestion, "location"> {
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
