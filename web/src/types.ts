/** The shapes the pages read, as Keel's API returns them (shared/API.md). */

export interface OrderSummary {
  id: number;
  number: string;
  channel: string;
  external_id: string | null;
  status: string;
  hold_reasons: { code: string; detail: string }[];
  payment_status: string;
  fulfillment_status: string;
  currency: string;
  total: number;
  customer_email: string;
  placed_at: string;
  sla_due_at: string;
  overdue: boolean;
}

export interface Reason {
  rule: string;
  detail: string;
}

export interface FulfilmentLine {
  sku: string;
  quantity: number;
  bin: string | null;
  for_sku: string | null;
  line_no: number;
}

export interface Fulfilment {
  id: number;
  order_id: number;
  order_number: string;
  /** null for a supplier's drop-ship shipment, which names its purchase order */
  location: string | null;
  purchase_order: string | null;
  status: "pending" | "picking" | "packed" | "shipped" | "delivered" | "cancelled";
  carrier: string | null;
  tracking_number: string | null;
  created_at: string;
  shipped_at: string | null;
  delivered_at: string | null;
  lines: FulfilmentLine[];
}

export interface Order {
  id: number;
  number: string;
  channel: string;
  external_id: string | null;
  status: string;
  held_from: string | null;
  hold_reasons: { code: string; detail: string; actor: string; at: string }[];
  payment_status: string;
  fulfillment_status: string;
  currency: string;
  customer: { email: string; name: string | null; phone: string | null };
  shipping_address: Record<string, string>;
  subtotal: number;
  discount_total: number;
  shipping_total: number;
  tax_total: number;
  total: number;
  placed_at: string;
  sla_due_at: string;
  overdue: boolean;
  note: string | null;
  lines: {
    line_no: number;
    sku: string;
    title: string | null;
    quantity: number;
    unit_price: number;
    cancelled: number;
    backordered: number;
    held: number;
    shipped: number;
    expected_at: string | null;
    decision: Reason[];
  }[];
  allocations: {
    line_no: number;
    sku: string;
    for_sku: string | null;
    location: string;
    quantity: number;
    state: string;
    reasons: Reason[];
  }[];
  fulfillments: Fulfilment[];
  payments: { status: string; amount: number; reference: string | null; actor: string; at: string }[];
  timeline: {
    from: string | null;
    to: string;
    action: string;
    actor: string;
    reason: string | null;
    at: string;
  }[];
  allowed_actions: string[];
}

export const BUCKETS = [
  "on_hand",
  "reserved",
  "allocated",
  "safety_stock",
  "available",
  "incoming",
  "quarantine",
  "damaged",
  "return_pending",
] as const;
export type Bucket = (typeof BUCKETS)[number];

export type Level = { sku: string; location: string; updated_at: string } & Record<Bucket, number>;

export interface Movement {
  id: number;
  sku: string;
  location: string;
  bucket: string;
  delta: number;
  reason: string;
  reference: string | null;
  actor: string;
  note: string | null;
  created_at: string;
}

export interface Location {
  code: string;
  name: string;
  kind: string;
}

export const ORDER_STATUSES = [
  "received",
  "on_hold",
  "approved",
  "backordered",
  "preparing",
  "partially_shipped",
  "shipped",
  "completed",
  "cancelled",
] as const;
export const HOLD_CODES = ["manual", "payment", "fraud", "address", "stock"] as const;
export const PAYMENT_STATUSES = [
  "pending",
  "authorized",
  "partially_paid",
  "paid",
  "failed",
  "voided",
  "partially_refunded",
  "refunded",
] as const;
