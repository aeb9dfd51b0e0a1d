/** Shapes of the purchasing, returns, counts, reports, integrations and access APIs (shared/API.md). */

export interface Supplier {
  id: number;
  code: string;
  name: string;
  lead_time_days: number;
  currency: string;
  email: string | null;
  active: boolean;
  created_at: string;
}

export const PO_STATUSES = [
  "draft",
  "submitted",
  "partially_received",
  "received",
  "closed",
  "cancelled",
] as const;

export interface PurchaseOrder {
  id: number;
  number: string;
  supplier: string;
  location: string;
  status: (typeof PO_STATUSES)[number];
  allowed_actions: string[];
  currency: string;
  expected_date: string | null;
  reference: string | null;
  note: string | null;
  total: number;
  submitted_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  created_at: string;
  lines: {
    line_no: number;
    sku: string;
    quantity: number;
    unit_cost: number;
    received: number;
    outstanding: number;
    expected_date: string | null;
  }[];
  receipts: { id: number; created_at: string; units: number }[];
}

export interface Receipt {
  id: number;
  bucket: "on_hand" | "quarantine";
  lines: { sku: string; quantity: number; over_received: number }[];
  purchase_order: PurchaseOrder;
}

export interface Suggestion {
  sku: string;
  location: string;
  quantity: number;
  method: string;
  status: "ready" | "forecast_pending";
  supplier: string | null;
  supplier_name: string | null;
  unit_cost: number | null;
  currency: string | null;
  lead_time_days: number;
  coverage: number | null;
  inputs: { on_hand: number; available: number; incoming: number; position: number };
  explanation: string;
}

/** A write a four-eyes policy sent for approval: nothing changed yet. */
export interface Pending {
  approval: { id: number; status: string };
}
export const isPending = (v: unknown): v is Pending =>
  typeof v === "object" && v !== null && "approval" in v && !("id" in v);

export const RETURN_STATUSES = [
  "requested",
  "authorised",
  "rejected",
  "received",
  "inspected",
  "closed",
] as const;
export const CONDITIONS = ["new", "opened", "used", "damaged", "defective"] as const;
export const DISPOSITIONS = ["restock", "quarantine", "refurbish", "scrap"] as const;

export interface ReturnSummary {
  id: number;
  number: string;
  order_id: number;
  order_number: string;
  status: string;
  units: number;
  refunded: number;
  created_at: string;
}

export interface ReturnView {
  id: number;
  number: string;
  order_id: number;
  order_number: string;
  status: (typeof RETURN_STATUSES)[number];
  location: string | null;
  rejection_reason: string | null;
  note: string | null;
  refunded: number;
  currency: string;
  lines: {
    sku: string;
    quantity: number;
    reason: string;
    received: number;
    inspected: number;
    inspections: { quantity: number; condition: string; disposition: string; note: string | null }[];
  }[];
  refunds: { amount: number; reference: string | null; actor: string; at: string }[];
  timeline: {
    from: string | null;
    to: string;
    action: string;
    actor: string;
    reason: string | null;
    at: string;
  }[];
  allowed_actions: string[];
  created_at: string;
}

export interface CountLine {
  sku: string;
  expected: number | null;
  counted: number | null;
  counted_at: string | null;
  corrected_expected: number | null;
  variance: number | null;
  variance_value: number | null;
  needs_approval: boolean;
}

export interface Count {
  id: number;
  location: string;
  status: "open" | "submitted" | "approved" | "cancelled";
  allowed_actions: string[];
  scope: "all" | "skus" | "abc";
  abc_class: string | null;
  blind: boolean;
  note: string | null;
  created_at: string;
  submitted_at: string | null;
  approved_by: string | null;
  summary: { lines: number; counted: number; with_variance: number; needing_approval: number };
  lines?: CountLine[];
}

export interface Report {
  data: (Record<string, unknown> & { drill: string })[];
  computed_at: string;
  source: "live" | "rollup";
}

export interface Alert {
  id: number;
  kind: string;
  key: string;
  status: "open" | "resolved";
  evidence: Record<string, unknown>;
  opened_at: string;
  changed_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
}

export interface Channel {
  id: number;
  code: string;
  kind: string;
  name: string;
  created_at: string;
}

export interface ChannelHealth {
  last_success_at: string | null;
  pending: number;
  lag_seconds: number | null;
  failures_24h: number;
  status: "ok" | "degraded" | "failing";
}

export interface Failure {
  id: number;
  source: string;
  channel: string | null;
  operation: string;
  subject: string;
  error: string;
  attempts: number;
  status: "open" | "resolved";
  first_at: string;
  last_at: string;
}

export interface IntegrationHealth {
  open: number;
  failures_24h: number;
  data: {
    source: string;
    channel: string | null;
    open: number;
    failures_24h: number;
    oldest_open_at: string | null;
    last_failure_at: string;
  }[];
}

export interface Subscription {
  id: number;
  url: string;
  events: string[];
  status: "active" | "failing";
  created_at: string;
}

export interface User {
  id: number;
  email: string;
  name: string;
  roles: string[];
  disabled: boolean;
  totp_enabled: boolean;
  created_at: string;
}

export interface Role {
  id: number;
  name: string;
  description: string;
  built_in: boolean;
  permissions: string[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity_type: string | null;
  entity_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  ip: string | null;
}
