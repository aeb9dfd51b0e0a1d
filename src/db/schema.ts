import type { ColumnType, Generated } from "kysely";

/**
 * Row types of Keel's tables, for Kysely. Each module's tables are listed
 * under its heading; the migrations in /migrations are the source of truth.
 */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

// platform
export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  key_hash: Buffer;
  created_at: Timestamp;
  revoked_at: Date | null;
}
export interface IdempotencyKeysTable {
  api_key_id: number;
  key: string;
  method: string;
  path: string;
  request_hash: Buffer;
  response_status: number;
  response_body: Json | null;
  created_at: Timestamp;
}
export interface OutboxEventsTable {
  id: Generated<number>;
  type: string;
  payload: Json;
  created_at: Timestamp;
}
export interface SettingsTable {
  key: string;
  value: Json;
  updated_at: Timestamp;
}

// catalog
export interface LocationsTable {
  id: Generated<number>;
  code: string;
  name: string;
  kind: "warehouse" | "store" | "3pl";
  priority: Generated<number>;
  country: string | null;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export type ProductKind = "physical" | "digital" | "bundle";
export type ProductStatus = "draft" | "active" | "archived";
export type InventoryPolicy = "deny" | "backorder" | "preorder";
export interface ProductsTable {
  id: Generated<number>;
  title: string;
  handle: string;
  kind: ProductKind;
  status: ProductStatus;
  description: string | null;
  options: Json<string[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface VariantsTable {
  id: Generated<number>;
  product_id: number;
  kind: ProductKind;
  sku: string;
  title: string | null;
  options: Json<Record<string, string>>;
  position: Generated<number>;
  price: number;
  currency: string;
  cost: number | null;
  barcode: string | null;
  weight_grams: number | null;
  unit_of_measure: Generated<string>;
  inventory_policy: Generated<InventoryPolicy>;
  low_stock_threshold: number | null;
  /** the tax class invoices look its rate up by (migration 080) */
  tax_class: Generated<string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface BundleComponentsTable {
  product_id: number;
  component_variant_id: number;
  quantity: number;
}

// inventory
export const BUCKETS = [
  "on_hand",
  "reserved",
  "allocated",
  "safety_stock",
  "incoming",
  "quarantine",
  "damaged",
  "return_pending",
] as const;
export type Bucket = (typeof BUCKETS)[number];

export interface InventoryLevelsTable {
  variant_id: number;
  location_id: number;
  on_hand: Generated<number>;
  reserved: Generated<number>;
  allocated: Generated<number>;
  safety_stock: Generated<number>;
  incoming: Generated<number>;
  quarantine: Generated<number>;
  damaged: Generated<number>;
  return_pending: Generated<number>;
  available: ColumnType<number, never, never>;
  updated_at: Timestamp;
}
export interface MovementReasonsTable {
  code: string;
  description: string;
  manual: Generated<boolean>;
}
export interface InventoryMovementsTable {
  id: Generated<number>;
  variant_id: number;
  location_id: number;
  bucket: Bucket;
  delta: number;
  reason: string;
  reference: string | null;
  actor: string;
  note: string | null;
  created_at: Timestamp;
}
export type ReservationStatus = "active" | "released" | "expired" | "consumed";
export interface ReservationsTable {
  id: Generated<number>;
  status: Generated<ReservationStatus>;
  reference: string | null;
  actor: string;
  expires_at: Date | null;
  created_at: Timestamp;
  ended_at: Date | null;
}
export interface ReservationLinesTable {
  reservation_id: number;
  line_no: number;
  variant_id: number;
  location_id: number;
  quantity: number;
  bundle_variant_id: number | null;
}
export interface TransfersTable {
  id: Generated<number>;
  from_location: number;
  to_location: number;
  status: "in_transit" | "partially_received" | "received";
  reference: string | null;
  actor: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface TransferLinesTable {
  transfer_id: number;
  variant_id: number;
  quantity: number;
  received: Generated<number>;
}

// orders (migrations/005_orders.sql)
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
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export type PaymentStatus =
  | "pending"
  | "authorized"
  | "partially_paid"
  | "paid"
  | "failed"
  | "voided"
  | "partially_refunded"
  | "refunded";
export type FulfillmentStatus = "unfulfilled" | "in_progress" | "partial" | "fulfilled" | "delivered";
export type PaymentKind = "authorized" | "paid" | "failed" | "voided" | "refunded";
export type FulfilmentState = "pending" | "picking" | "packed" | "shipped" | "delivered" | "cancelled";
export type ChannelKind = "shopify" | "woocommerce" | "webhook" | "manual";
export interface HoldReason {
  code: string;
  detail: string;
  actor: string;
  at: string;
}
export interface DecisionReason {
  rule: string;
  detail: string;
}

export interface ChannelsTable {
  id: Generated<number>;
  code: string;
  kind: ChannelKind;
  name: string;
  config: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface OrdersTable {
  id: Generated<number>;
  number: Generated<string>;
  channel_id: number;
  external_id: string | null;
  status: OrderStatus;
  held_from: OrderStatus | null;
  hold_reasons: Json<HoldReason[]>;
  payment_status: Generated<PaymentStatus>;
  fulfillment_status: Generated<FulfillmentStatus>;
  currency: string;
  customer_email: string;
  customer_name: string | null;
  customer_phone: string | null;
  shipping_address: Json<Record<string, string>>;
  billing_address: Json<Record<string, string>> | null;
  subtotal: number;
  discount_total: Generated<number>;
  shipping_total: Generated<number>;
  tax_total: Generated<number>;
  total: number;
  stock_committed_at: Date | null;
  placed_at: Timestamp;
  sla_due_at: Date;
  note: string | null;
  actor: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface OrderLinesTable {
  id: Generated<number>;
  order_id: number;
  line_no: number;
  variant_id: number;
  sku: string;
  kind: ProductKind;
  title: string | null;
  quantity: number;
  unit_price: number;
  cancelled: Generated<number>;
  backordered: Generated<number>;
  /** line units a supplier ships straight to the customer (migrations/082_dropship.sql) */
  dropship: Generated<number>;
  decision: Json<DecisionReason[]>;
}
export interface OrderAllocationsTable {
  id: Generated<number>;
  order_id: number;
  line_id: number;
  variant_id: number;
  /** null: units a supplier shipped (drop-ship), never held */
  location_id: number | null;
  per_unit: Generated<number>;
  counts_units: Generated<boolean>;
  reserved: Generated<number>;
  allocated: Generated<number>;
  shipped: Generated<number>;
  released: Generated<number>;
  reasons: Json<DecisionReason[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface OrderPaymentsTable {
  id: Generated<number>;
  order_id: number;
  kind: PaymentKind;
  amount: number;
  reference: string | null;
  actor: string;
  created_at: Timestamp;
}
export interface OrderTimelineTable {
  id: Generated<number>;
  order_id: number;
  from_status: string | null;
  to_status: string;
  action: string;
  actor: string;
  reason: string | null;
  at: Timestamp;
}
export interface FulfillmentsTable {
  id: Generated<number>;
  order_id: number;
  /** null for a supplier's drop-ship shipment, which names its purchase order instead */
  location_id: number | null;
  purchase_order_id: Generated<number | null>;
  status: Generated<FulfilmentState>;
  carrier: string | null;
  tracking_number: string | null;
  actor: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  shipped_at: Date | null;
  delivered_at: Date | null;
}
export interface FulfillmentLinesTable {
  fulfillment_id: number;
  allocation_id: number;
  quantity: number;
}
export interface PickBinsTable {
  variant_id: number;
  location_id: number;
  bin: string;
}

export interface Database {
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  outbox_events: OutboxEventsTable;
  settings: SettingsTable;
  locations: LocationsTable;
  products: ProductsTable;
  variants: VariantsTable;
  bundle_components: BundleComponentsTable;
  inventory_levels: InventoryLevelsTable;
  movement_reasons: MovementReasonsTable;
  inventory_movements: InventoryMovementsTable;
  reservations: ReservationsTable;
  reservation_lines: ReservationLinesTable;
  transfers: TransfersTable;
  transfer_lines: TransferLinesTable;
  // orders
  channels: ChannelsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  order_allocations: OrderAllocationsTable;
  order_payments: OrderPaymentsTable;
  order_timeline: OrderTimelineTable;
  fulfillments: FulfillmentsTable;
  fulfillment_lines: FulfillmentLinesTable;
  pick_bins: PickBinsTable;
}

// purchasing — suppliers, purchase orders, receipts, costs (src/purchasing), reorder rules
// (src/replenishment) and cycle counts (src/counts); migrations/006_purchasing.sql. Merged into
// `Database` by interface declaration merging, so this section stays apart from the others.
type Numeric = ColumnType<number, number | string, number | string>;
type DateOnly = ColumnType<Date, string, string>;
export type PurchaseOrderStatus =
  | "draft"
  | "submitted"
  | "partially_received"
  | "received"
  | "closed"
  | "cancelled"
  | "shipped";
export interface SuppliersTable {
  id: Generated<number>;
  code: string;
  name: string;
  lead_time_days: number;
  currency: string;
  email: string | null;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface SupplierItemsTable {
  id: Generated<number>;
  supplier_id: number;
  variant_id: number;
  supplier_sku: string | null;
  cost: number;
  lead_time_days: number | null;
  min_order_qty: Generated<number>;
  pack_size: Generated<number>;
  priority: Generated<number>;
  dropship: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface PurchaseOrdersTable {
  id: Generated<number>;
  supplier_id: number;
  /** null for a drop-ship order, which ships to `ship_to` */
  location_id: number | null;
  ship_to: Generated<Json<Record<string, unknown>> | null>;
  ship_to_key: Generated<string | null>;
  dropship_day: Generated<DateOnly | null>;
  carrier: Generated<string | null>;
  tracking_number: Generated<string | null>;
  shipped_at: Generated<Date | null>;
  status: Generated<PurchaseOrderStatus>;
  currency: string;
  expected_date: DateOnly | null;
  allow_over_receipt: Generated<boolean>;
  reference: string | null;
  note: string | null;
  actor: string;
  submitted_at: Date | null;
  ended_at: Date | null;
  end_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface PurchaseOrderLinesTable {
  purchase_order_id: number;
  line_no: number;
  variant_id: number;
  quantity: number;
  unit_cost: number;
  received: Generated<number>;
  expected_date: DateOnly | null;
  allow_over_receipt: Generated<boolean>;
}
export interface ReceiptsTable {
  id: Generated<number>;
  purchase_order_id: number;
  location_id: number;
  bucket: "on_hand" | "quarantine";
  freight: Generated<number>;
  duty: Generated<number>;
  reference: string | null;
  note: string | null;
  actor: string;
  created_at: Timestamp;
}
export interface ReceiptLinesTable {
  receipt_id: number;
  line_no: number;
  po_line_no: number;
  variant_id: number;
  quantity: number;
  over_received: Generated<number>;
  unit_cost: number;
  landed_cost: Generated<number>;
}
export interface LocationReceivingTable {
  location_id: number;
  inspect: Generated<boolean>;
  allow_over_receipt: Generated<boolean>;
  updated_at: Timestamp;
}
export interface VariantCostsTable {
  variant_id: number;
  currency: string;
  avg_cost: Numeric;
  on_hand_basis: number;
  last_receipt_id: number | null;
  updated_at: Timestamp;
}
export interface CostChangesTable {
  id: Generated<number>;
  variant_id: number;
  receipt_id: number;
  old_avg: Numeric | null;
  old_quantity: number;
  quantity: number;
  unit_cost: Numeric;
  new_avg: Numeric;
  created_at: Timestamp;
}
export interface ReorderRulesTable {
  id: Generated<number>;
  variant_id: number;
  location_id: number;
  kind: "min_max" | "reorder_point";
  reorder_point: number;
  max_quantity: number | null;
  reorder_quantity: number | null;
  multiple: number | null;
  supplier_id: number | null;
  actor: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export type CountStatus = "open" | "submitted" | "approved" | "cancelled";
export interface CountSessionsTable {
  id: Generated<number>;
  location_id: number;
  status: Generated<CountStatus>;
  scope: "all" | "skus" | "abc";
  abc_class: "A" | "B" | "C" | null;
  blind: Generated<boolean>;
  note: string | null;
  actor: string;
  submitted_at: Date | null;
  approved_by: string | null;
  ended_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface CountLinesTable {
  count_id: number;
  variant_id: number;
  expected: number;
  snapshot_movement: Generated<number>;
  counted: number | null;
  counted_movement: number | null;
  counted_at: Date | null;
  corrected_expected: number | null;
  variance: number | null;
  unit_cost: Numeric | null;
  variance_value: number | null;
  needs_approval: Generated<boolean>;
}
export interface Database {
  suppliers: SuppliersTable;
  supplier_items: SupplierItemsTable;
  purchase_orders: PurchaseOrdersTable;
  purchase_order_lines: PurchaseOrderLinesTable;
  receipts: ReceiptsTable;
  receipt_lines: ReceiptLinesTable;
  location_receiving: LocationReceivingTable;
  variant_costs: VariantCostsTable;
  cost_changes: CostChangesTable;
  reorder_rules: ReorderRulesTable;
  count_sessions: CountSessionsTable;
  count_lines: CountLinesTable;
}
