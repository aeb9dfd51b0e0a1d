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
}
