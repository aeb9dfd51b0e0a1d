import { z } from "zod";
import { ORDER_STATUSES } from "../db/schema.js";
import { pageQuery } from "../http/pagination.js";
import { LocationCode, Sku } from "../inventory/schema.js";
import { ChannelCode, ChannelConfig } from "./channels.js";

/** Request shapes of the orders API (shared/API.md, "Orders"). Responses are in view-schema.ts. */

const Text = (max: number) => z.string().trim().min(1).max(max);
const Money = z.number().int().min(0).max(1e13).describe("integer minor units (cents)");
const Quantity = z.number().int().min(1).max(1_000_000);
const Reason = Text(500);

export const Address = z.strictObject({
  name: Text(200).optional(),
  company: Text(200).optional(),
  line1: Text(300).optional(),
  line2: Text(300).optional(),
  city: Text(200).optional(),
  postal_code: Text(32).optional(),
  province: Text(100).optional(),
  country: z.string().regex(/^[A-Z]{2}$/, "an ISO 3166 alpha-2 code such as DE"),
  phone: Text(50).optional(),
});

export const PlaceOrderBody = z.strictObject({
  channel: ChannelCode.optional().describe("channel code; `manual` when left out"),
  external_id: Text(200)
    .optional()
    .describe("the order's id on the channel; (channel, external_id) is unique"),
  currency: z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code such as EUR"),
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity, unit_price: Money, title: Text(500).optional() }))
    .min(1)
    .max(500),
  customer: z.strictObject({
    email: z.email().max(320),
    name: Text(200).optional(),
    phone: Text(50).optional(),
  }),
  shipping_address: Address,
  billing_address: Address.optional(),
  shipping_total: Money.optional(),
  tax_total: Money.optional(),
  discount_total: Money.optional(),
  total: Money.optional().describe("when given, must equal lines − discounts + shipping + tax"),
  payment: z
    .strictObject({
      status: z.enum(["pending", "authorized", "paid", "failed"]),
      amount: Money,
      reference: Text(200).optional(),
    })
    .optional(),
  reservation_id: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("a checkout reservation to turn into the order's hold"),
  placed_at: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("when the customer ordered; defaults to now"),
  note: Text(2000).optional(),
});
export type PlaceOrderBody = z.infer<typeof PlaceOrderBody>;

export const EditOrderBody = z.strictObject({
  shipping_address: Address.optional(),
  billing_address: Address.optional(),
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity, unit_price: Money, title: Text(500).optional() }))
    .min(1)
    .max(500)
    .optional()
    .describe("the order's lines as they should be: a SKU left out is removed, a new one added"),
  shipping_total: Money.optional(),
  discount_total: Money.optional(),
  tax_total: Money.optional().describe("the order's own tax; Keel's rule applies when left out"),
  note: Text(2000).optional(),
});

export const OrderKey = z.strictObject({
  id: z
    .string()
    .regex(/^(\d{1,15}|[A-Za-z0-9-]{1,40})$/, "an order id or number")
    .describe("order id, or its number such as K-100001"),
});

const HoldCode = z.enum(["manual", "payment", "fraud", "address", "stock"]);

export const HoldBody = z.strictObject({
  reason: Reason,
  code: HoldCode.default("manual").describe("what kind of hold, for filtering the queue"),
});
export const ReleaseBody = z
  .strictObject({
    reasons: z.array(HoldCode).min(1).optional().describe("hold codes to clear; all when left out"),
    note: Reason.optional(),
  })
  .nullish();
export const ApproveBody = z.strictObject({ reason: Reason.optional() }).nullish();
export const CancelBody = z.strictObject({
  reason: Reason,
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity }))
    .min(1)
    .max(500)
    .optional()
    .describe("cancel only these units; the whole order when left out"),
});
export const PaymentBody = z.strictObject({
  status: z.enum(["authorized", "paid", "failed", "voided", "refunded"]),
  amount: Money,
  reference: Text(200).optional(),
});

export const OrdersQuery = z.strictObject({
  status: z
    .string()
    .max(200)
    .optional()
    .describe(`comma-separated statuses: ${ORDER_STATUSES.join(", ")}`),
  channel: ChannelCode.optional(),
  hold_reason: HoldCode.optional(),
  overdue: z.enum(["true", "false"]).optional().describe("only open orders past their SLA due time"),
  payment_status: z
    .enum([
      "pending",
      "authorized",
      "partially_paid",
      "paid",
      "failed",
      "voided",
      "partially_refunded",
      "refunded",
    ])
    .optional(),
  location: LocationCode.optional().describe("orders with stock held or shipped at this location"),
  sort: z.enum(["oldest", "newest"]).default("oldest").describe("by age (placement time)"),
  ...pageQuery,
});

export const FulfilmentBody = z
  .strictObject({
    location: LocationCode.optional().describe(
      "where to ship from; the first location holding open units when left out",
    ),
    lines: z
      .array(z.strictObject({ sku: Sku, quantity: Quantity }))
      .min(1)
      .max(500)
      .optional()
      .describe("line units to ship; every open unit held at the location when left out"),
  })
  .nullish();
export const ShipBody = z.strictObject({ carrier: Text(100), tracking_number: Text(200) });
export const FulfilmentId = z.strictObject({
  id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export const FulfilmentsQuery = z.strictObject({
  location: LocationCode.optional(),
  status: z.enum(["pending", "picking", "packed", "shipped", "delivered", "cancelled"]).optional(),
  order: z.string().max(40).optional().describe("order id or number"),
  ...pageQuery,
});
export const BinBody = z.strictObject({
  sku: Sku,
  location: LocationCode,
  bin: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$/, "1-32 letters, digits, . _ / -"),
});

export const ChannelBody = z.strictObject({
  kind: z.enum(["shopify", "woocommerce", "webhook", "manual"]),
  name: Text(200),
  code: ChannelCode.optional().describe("defaults to a slug of the name"),
  config: ChannelConfig.default({}),
});
