import { z } from "zod";

/** Request and response shapes of the replenishment API (shared/API.md, "Purchasing"). */

const Sku = z.string().trim().min(1).max(64);
const LocationCode = z.string().trim().min(1).max(64);
const SupplierCode = z.string().trim().min(1).max(64);
const Units = z.number().int().min(0).max(10_000_000);

export const ReorderRuleBody = z
  .strictObject({
    sku: Sku,
    location: LocationCode,
    reorder_point: Units.describe("min/max: the minimum; otherwise the reorder point"),
    reorder_quantity: z.number().int().min(1).max(10_000_000).optional(),
    max: Units.optional().describe("order up to this when the position falls below reorder_point"),
    multiple: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe("order in multiples of this (default: the supplier's pack size)"),
    supplier: SupplierCode.optional().describe("buy from this supplier (default: the preferred one)"),
  })
  .refine((b) => (b.max === undefined) !== (b.reorder_quantity === undefined), {
    message: "give exactly one of reorder_quantity or max",
    path: ["reorder_quantity"],
  })
  .refine((b) => b.max === undefined || b.max >= b.reorder_point, {
    message: "must be at least reorder_point",
    path: ["max"],
  });

export const ReorderRule = z.object({
  id: z.number(),
  sku: z.string(),
  location: z.string(),
  kind: z.enum(["min_max", "reorder_point"]),
  reorder_point: z.number(),
  max: z.number().nullable(),
  reorder_quantity: z.number().nullable(),
  multiple: z.number().nullable(),
  supplier: z.string().nullable(),
  updated_at: z.string(),
});

export const RulesQuery = z.strictObject({ sku: Sku.optional(), location: LocationCode.optional() });
export const IdParam = z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const SuggestionsQuery = z.strictObject({
  location: LocationCode,
  sku: Sku.optional(),
  service_level: z.coerce
    .number()
    .min(0.5)
    .max(0.9999)
    .optional()
    .describe("probability of no stock-out over the lead time; default 0.95"),
  history_days: z.coerce
    .number()
    .int()
    .min(14)
    .max(730)
    .optional()
    .describe("days of sales history a forecast looks at; default the shop's setting (91)"),
  all: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe("also list SKUs that need nothing now"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(400).optional(),
});

export const Suggestion = z.object({
  sku: z.string(),
  location: z.string(),
  quantity: z.number().describe("suggested order quantity, rounded to MOQ and pack size"),
  method: z.enum(["min_max", "reorder_point", "forecast"]),
  status: z
    .enum(["ready", "forecast_pending"])
    .describe("forecast_pending: no forecast from this sales history yet; quantity is 0 until there is one"),
  supplier: z.string().nullable(),
  supplier_name: z.string().nullable(),
  supplier_sku: z.string().nullable(),
  unit_cost: z.number().nullable(),
  currency: z.string().nullable(),
  lead_time_days: z.number(),
  coverage: z
    .number()
    .nullable()
    .describe(
      "position as a share of the level aimed for (min/max: max; reorder point: the point; forecast: demand over the lead time + safety stock); the list is sorted by it",
    ),
  inputs: z.object({
    on_hand: z.number(),
    available: z.number(),
    incoming: z.number(),
    position: z.number().describe("available + incoming"),
    rule: z
      .object({
        kind: z.enum(["min_max", "reorder_point"]),
        reorder_point: z.number(),
        max: z.number().nullable(),
        reorder_quantity: z.number().nullable(),
        multiple: z.number().nullable(),
      })
      .nullable(),
    forecast: z
      .object({
        model: z.enum(["mstl_ets_weekly", "mean", "none"]),
        history_days: z.number(),
        daily_demand: z.number(),
        demand_over_lead_time: z.number(),
        sigma: z.number(),
        service_level: z.number(),
        z: z.number(),
        safety_stock: z.number(),
        source: z
          .enum(["stored", "computed_now"])
          .describe("stored: made ahead by the background job; computed_now: made for this request"),
        history_through: z.string().describe("last day of sales the forecast saw (UTC)"),
        computed_at: z.string(),
      })
      .nullable(),
  }),
  raw_quantity: z.number().describe("what the rule or forecast asks for before rounding"),
  rounding: z.object({ min_order_qty: z.number(), pack_size: z.number(), from: z.number(), to: z.number() }),
  explanation: z.string(),
});

export const SuggestionPage = z.object({
  data: z.array(Suggestion),
  next_cursor: z.string().nullable(),
  forecasts: z
    .object({ stored: z.number(), computed_now: z.number(), pending: z.number() })
    .describe("over the whole list: forecasts read from the store, made for this request, still pending"),
});

export const DraftOrdersBody = z.strictObject({
  suggestions: z
    .array(
      z.strictObject({
        sku: Sku,
        location: LocationCode,
        quantity: z.number().int().min(1).max(10_000_000),
        supplier: SupplierCode.optional(),
      }),
    )
    .min(1)
    .max(1000),
});
