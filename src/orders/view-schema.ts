import { z } from "zod";
import { ORDER_STATUSES } from "../db/schema.js";

/** Response shapes of the orders API, for validation of what we send and for the OpenAPI document. */

export const Problem = z
  .looseObject({ type: z.string(), title: z.string(), status: z.int(), detail: z.string(), code: z.string() })
  .describe("application/problem+json");
export const problems = { 400: Problem, 404: Problem, 409: Problem, 422: Problem };

const Reason = z.object({ rule: z.string(), detail: z.string() });
const Status = z.enum(ORDER_STATUSES);

export const FulfilmentLine = z.object({
  sku: z.string().describe("the stocked variant to pick"),
  quantity: z.number(),
  bin: z.string().nullable(),
  for_sku: z.string().nullable().describe("the bundle these units are components of"),
  line_no: z.number(),
});
export const Fulfilment = z.object({
  id: z.number(),
  order_id: z.number(),
  order_number: z.string(),
  location: z.string().nullable().describe("null for a supplier's drop-ship shipment"),
  purchase_order: z.string().nullable().describe("the drop-ship purchase order a supplier shipped"),
  status: z.enum(["pending", "picking", "packed", "shipped", "delivered", "cancelled"]),
  carrier: z.string().nullable(),
  tracking_number: z.string().nullable(),
  created_at: z.string(),
  shipped_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  lines: z.array(FulfilmentLine).describe("sorted for a picker: by bin, then SKU"),
});
export const FulfilmentPage = z.object({
  data: z.array(Fulfilment),
  pick_list: z
    .array(
      z.object({
        bin: z.string().nullable(),
        sku: z.string(),
        quantity: z.number(),
        fulfillments: z.array(z.number()),
      }),
    )
    .describe("every line of the page in one walk: by bin, then SKU"),
  next_cursor: z.string().nullable(),
});

export const Order = z.object({
  id: z.number(),
  number: z.string(),
  channel: z.string(),
  external_id: z.string().nullable(),
  status: Status,
  held_from: z.string().nullable(),
  hold_reasons: z.array(
    z.object({ code: z.string(), detail: z.string(), actor: z.string(), at: z.string() }),
  ),
  payment_status: z.string(),
  fulfillment_status: z.string(),
  currency: z.string(),
  customer: z.object({ email: z.string(), name: z.string().nullable(), phone: z.string().nullable() }),
  shipping_address: z.record(z.string(), z.string()),
  billing_address: z.record(z.string(), z.string()).nullable(),
  subtotal: z.number(),
  discount_total: z.number(),
  shipping_total: z.number(),
  tax_total: z.number(),
  total: z.number(),
  placed_at: z.string(),
  sla_due_at: z.string(),
  overdue: z.boolean(),
  stock_committed_at: z.string().nullable().describe("when reserved units became allocated"),
  note: z.string().nullable(),
  lines: z.array(
    z.object({
      line_no: z.number(),
      sku: z.string(),
      title: z.string().nullable(),
      kind: z.string(),
      quantity: z.number(),
      unit_price: z.number(),
      cancelled: z.number(),
      backordered: z.number().describe("units waiting for stock"),
      dropship: z.number().describe("units a supplier ships straight to the customer, not shipped yet"),
      held: z.number().describe("units reserved or allocated"),
      shipped: z.number(),
      expected_at: z.string().nullable().describe("for backordered units: when stock is expected"),
      expected_from: z.string().nullable(),
      decision: z.array(Reason),
    }),
  ),
  allocations: z
    .array(
      z.object({
        line_no: z.number(),
        sku: z.string(),
        for_sku: z.string().nullable(),
        location: z.string(),
        quantity: z.number(),
        state: z.enum(["reserved", "allocated", "shipped", "released"]),
        reasons: z.array(Reason),
      }),
    )
    .describe("per line and location: how many units are in which state, and why this location"),
  fulfillments: z.array(Fulfilment),
  payments: z.array(
    z.object({
      status: z.string(),
      amount: z.number(),
      reference: z.string().nullable(),
      actor: z.string(),
      at: z.string(),
    }),
  ),
  timeline: z.array(
    z.object({
      from: z.string().nullable(),
      to: z.string(),
      action: z.string(),
      actor: z.string(),
      reason: z.string().nullable(),
      at: z.string(),
    }),
  ),
  allowed_actions: z.array(z.string()).describe("operator actions open to the order now"),
});

export const OrderPage = z.object({
  data: z.array(
    z.object({
      id: z.number(),
      number: z.string(),
      channel: z.string(),
      external_id: z.string().nullable(),
      status: Status,
      hold_reasons: z.array(z.object({ code: z.string(), detail: z.string() })),
      payment_status: z.string(),
      fulfillment_status: z.string(),
      currency: z.string(),
      total: z.number(),
      customer_email: z.string(),
      placed_at: z.string(),
      sla_due_at: z.string(),
      overdue: z.boolean(),
    }),
  ),
  next_cursor: z.string().nullable(),
});

export const Channel = z.object({
  id: z.number(),
  code: z.string(),
  kind: z.string(),
  name: z.string(),
  config: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

export const Bin = z.object({ sku: z.string(), location: z.string(), bin: z.string() });
