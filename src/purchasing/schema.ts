import { z } from "zod";
import { pageQuery } from "../http/pagination.js";

/** Request and response shapes of the purchasing API (shared/API.md, "Purchasing"). */

export const Sku = z.string().trim().min(1).max(64);
export const LocationCode = z.string().trim().min(1).max(64);
export const SupplierCode = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "letters, digits and . _ - (1-64), starting with a letter or digit",
  );
const Money = z.number().int().min(0).max(1_000_000_000_000);
const Quantity = z.number().int().min(1).max(10_000_000);
const LeadTime = z.number().int().min(0).max(365);
const Currency = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code such as EUR");
const IsoDate = z.iso.date();
const Text = (max: number) => z.string().trim().min(1).max(max);

const PO_STATUSES = [
  "draft",
  "submitted",
  "partially_received",
  "received",
  "closed",
  "cancelled",
  "shipped",
] as const;

export const IdParam = z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
export const CodeParam = z.strictObject({ code: SupplierCode });

export const SupplierBody = z.strictObject({
  code: SupplierCode,
  name: Text(200),
  lead_time_days: LeadTime,
  currency: Currency.default("EUR"),
  email: z.email().max(320).optional(),
});
export const Supplier = z.object({
  id: z.number(),
  code: z.string(),
  name: z.string(),
  lead_time_days: z.number(),
  currency: z.string(),
  email: z.string().nullable(),
  active: z.boolean(),
  created_at: z.string(),
});

export const SupplierItemBody = z.strictObject({
  sku: Sku,
  supplier_sku: Text(100).optional(),
  cost: Money.describe("unit cost in the supplier's currency, minor units"),
  lead_time_days: LeadTime.optional().describe("overrides the supplier's lead time for this item"),
  min_order_qty: z.number().int().min(1).max(1_000_000).default(1),
  pack_size: z.number().int().min(1).max(100_000).default(1).describe("order in multiples of this"),
  priority: z.number().int().min(0).max(1_000_000).default(100).describe("lower = preferred supplier"),
  dropship: z
    .boolean()
    .default(false)
    .describe("the supplier ships this item straight to the customer: its order lines hold no stock"),
});
export const SupplierItem = z.object({
  supplier: z.string(),
  sku: z.string(),
  supplier_sku: z.string().nullable(),
  cost: z.number(),
  currency: z.string(),
  lead_time_days: z.number().nullable(),
  effective_lead_time_days: z.number(),
  min_order_qty: z.number(),
  pack_size: z.number(),
  priority: z.number(),
  dropship: z.boolean(),
});

export const PurchaseOrderBody = z.strictObject({
  supplier: SupplierCode,
  location: LocationCode,
  lines: z
    .array(
      z.strictObject({
        sku: Sku,
        quantity: Quantity,
        unit_cost: Money.optional().describe("defaults to the supplier item's cost"),
        expected_date: IsoDate.optional(),
        allow_over_receipt: z.boolean().optional(),
      }),
    )
    .min(1)
    .max(1000),
  expected_date: IsoDate.optional().describe("defaults at submission to today + lead time"),
  allow_over_receipt: z.boolean().default(false),
  reference: Text(200).optional(),
  note: z.string().max(2000).optional(),
});

export const EndBody = z.strictObject({ reason: Text(500).optional() }).default({});

export const ReceiptBody = z.strictObject({
  lines: z
    .array(
      z.strictObject({
        sku: Sku,
        quantity: Quantity,
        unit_cost: Money.optional().describe("the invoiced cost when it differs from the order line"),
      }),
    )
    .min(1)
    .max(1000),
  freight: Money.default(0).describe("landed cost spread over the lines by value"),
  duty: Money.default(0).describe("landed cost spread over the lines by value"),
  reference: Text(200).optional(),
  note: z.string().max(2000).optional(),
});

const PurchaseOrderLine = z.object({
  line_no: z.number(),
  sku: z.string(),
  quantity: z.number(),
  unit_cost: z.number(),
  received: z.number(),
  outstanding: z.number(),
  expected_date: z.string().nullable(),
  allow_over_receipt: z.boolean(),
});

export const PurchaseOrder = z.object({
  id: z.number(),
  number: z.string(),
  supplier: z.string(),
  location: z.string().nullable().describe("null for a drop-ship order, which ships to ship_to"),
  status: z.enum(PO_STATUSES),
  allowed_actions: z.array(z.string()),
  currency: z.string(),
  expected_date: z.string().nullable(),
  allow_over_receipt: z.boolean(),
  reference: z.string().nullable(),
  note: z.string().nullable(),
  total: z.number().describe("sum of quantity × unit_cost, minor units"),
  submitted_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  end_reason: z.string().nullable(),
  created_at: z.string(),
  lines: z.array(PurchaseOrderLine),
  dropship: z
    .object({
      ship_to: z.record(z.string(), z.unknown()).describe("the customer: name, email and shipping address"),
      day: z.string().describe("the UTC day whose drop-ship orders to this supplier and ship-to it collects"),
      carrier: z.string().nullable(),
      tracking_number: z.string().nullable(),
      shipped_at: z.string().nullable(),
      orders: z.array(
        z.object({
          order_id: z.number(),
          order_number: z.string(),
          sku: z.string(),
          quantity: z.number(),
          cancelled: z.number(),
          shipped: z.number(),
        }),
      ),
    })
    .nullable()
    .describe("set on a drop-ship purchase order (the supplier ships to the customer)"),
  receipts: z.array(z.object({ id: z.number(), created_at: z.string(), units: z.number() })),
});

export const Receipt = z.object({
  id: z.number(),
  purchase_order_id: z.number(),
  location: z.string(),
  bucket: z.enum(["on_hand", "quarantine"]),
  freight: z.number(),
  duty: z.number(),
  reference: z.string().nullable(),
  created_at: z.string(),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.number(),
      over_received: z.number(),
      unit_cost: z.number(),
      landed_cost: z.number(),
      avg_cost_after: z.number().describe("the SKU's moving-average unit cost after this receipt"),
    }),
  ),
  purchase_order: PurchaseOrder,
});

export const PurchaseOrdersQuery = z.strictObject({
  status: z.enum(PO_STATUSES).optional(),
  supplier: SupplierCode.optional(),
  location: LocationCode.optional(),
  ...pageQuery,
});

export const ShipBody = z.strictObject({
  carrier: Text(100),
  tracking_number: Text(200),
});

export const ReceivingBody = z.strictObject({
  location: LocationCode,
  inspect: z.boolean().describe("receipts go to quarantine for inspection instead of on_hand"),
  allow_over_receipt: z.boolean().default(false),
});
export const Receiving = z.object({
  location: z.string(),
  inspect: z.boolean(),
  allow_over_receipt: z.boolean(),
});

export const CostsQuery = z.strictObject({ sku: Sku });
export const Cost = z.object({
  sku: z.string(),
  currency: z.string().nullable(),
  avg_cost: z.number().nullable().describe("moving-average unit cost, minor units (rounded)"),
  avg_cost_exact: z.number().nullable(),
  on_hand_basis: z.number().nullable(),
  history: z.array(
    z.object({
      receipt_id: z.number(),
      old_avg: z.number().nullable(),
      old_quantity: z.number(),
      quantity: z.number(),
      unit_cost: z.number(),
      new_avg: z.number(),
      at: z.string(),
    }),
  ),
});
