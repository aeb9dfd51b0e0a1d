import { z } from "zod";
import { pageQuery } from "../http/pagination.js";

const Sku = z.string().trim().min(1).max(64);
const Quantity = z.number().int().min(1).max(100_000);
const Text = (max: number) => z.string().trim().min(1).max(max);
const Condition = z.enum(["new", "opened", "used", "damaged", "defective"]);
const Disposition = z.enum(["restock", "quarantine", "refurbish", "scrap"]);

export const ReturnKey = z.strictObject({
  id: z
    .string()
    .regex(/^(\d{1,15}|R-\d{1,12})$/, "a return id or number")
    .describe("return id, or its number such as R-5001"),
});

export const ReturnBody = z.strictObject({
  order_id: z
    .union([z.number().int().min(1), z.string().regex(/^(\d{1,15}|[A-Za-z0-9-]{1,40})$/)])
    .describe("the order's id or number"),
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity, reason: Text(40) }))
    .min(1)
    .max(200),
  location: Text(64)
    .optional()
    .describe("where the parcel will be received; defaults to where it shipped from"),
  note: Text(2000).optional(),
});

export const RejectBody = z.strictObject({ reason: Text(500) });
export const ReasonBody = z.strictObject({ reason: Text(500).optional() }).nullish();

export const ReceiveBody = z.strictObject({
  location: Text(64).optional(),
  lines: z
    .array(
      z.strictObject({
        sku: Sku,
        quantity: Quantity,
        condition: Condition.optional(),
        disposition: Disposition.optional(),
        note: Text(2000).optional(),
      }),
    )
    .min(1)
    .max(200),
});

export const InspectBody = z.strictObject({
  lines: z
    .array(
      z.strictObject({
        sku: Sku,
        quantity: Quantity,
        condition: Condition,
        disposition: Disposition,
        note: Text(2000).optional(),
      }),
    )
    .min(1)
    .max(200),
});

export const RefundBody = z.strictObject({
  amount: z.number().int().min(1).max(1e12).describe("minor units, in the order's currency"),
  reference: Text(200).optional().describe("the payment provider's refund id"),
});

export const ExchangeBody = z.strictObject({
  lines: z
    .array(
      z.strictObject({
        sku: Sku,
        quantity: Quantity,
        unit_price: z.number().int().min(0).max(1e12).optional(),
      }),
    )
    .min(1)
    .max(200),
  note: Text(2000).optional(),
});

export const ReturnsQuery = z.strictObject({
  status: z.enum(["requested", "authorised", "rejected", "received", "inspected", "closed"]).optional(),
  order_id: z.coerce.number().int().min(1).optional(),
  ...pageQuery,
});

const Timestamp = z.string();
export const ReturnView = z.object({
  id: z.number(),
  number: z.string(),
  order_id: z.number(),
  order_number: z.string(),
  status: z.enum(["requested", "authorised", "rejected", "received", "inspected", "closed"]),
  location: z.string().nullable(),
  rejection_reason: z.string().nullable(),
  note: z.string().nullable(),
  refunded: z.number(),
  currency: z.string(),
  exchange_order_id: z.number().nullable(),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.number(),
      reason: z.string(),
      received: z.number(),
      inspected: z.number(),
      inspections: z.array(
        z.object({
          quantity: z.number(),
          condition: z.string(),
          disposition: z.string(),
          note: z.string().nullable(),
        }),
      ),
    }),
  ),
  refunds: z.array(
    z.object({ amount: z.number(), reference: z.string().nullable(), actor: z.string(), at: Timestamp }),
  ),
  timeline: z.array(
    z.object({
      from: z.string().nullable(),
      to: z.string(),
      action: z.string(),
      actor: z.string(),
      reason: z.string().nullable(),
      at: Timestamp,
    }),
  ),
  allowed_actions: z.array(z.string()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ReturnList = z.object({
  data: z.array(
    z.object({
      id: z.number(),
      number: z.string(),
      order_id: z.number(),
      order_number: z.string(),
      status: z.string(),
      units: z.number(),
      refunded: z.number(),
      created_at: Timestamp,
    }),
  ),
  next_cursor: z.string().nullable(),
});
