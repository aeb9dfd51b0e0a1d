import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ShopifyInventoryItemsTable {
  channel_id: number;
  sku: string;
  inventory_item_gid: string;
  variant_gid: string;
  product_gid: string | null;
  imported_at: Timestamp;
}

export interface ShopifyStockTargetsTable {
  channel_id: number;
  sku: string;
  location_code: string;
  location_gid: string;
  inventory_item_gid: string;
  wanted: number;
  confirmed: number | null;
  confirmed_version: Generated<number>;
  state: Generated<"dirty" | "clean" | "failed">;
  dirty_since: Date | null;
  attempt: Generated<number>;
  next_attempt_at: Timestamp;
  leased_until: Date | null;
  pushed_at: Date | null;
  error: string | null;
  updated_at: Timestamp;
}

export interface ShopifyChannelStateTable {
  channel_id: number;
  last_success_at: Date | null;
  consecutive_failures: Generated<number>;
  next_attempt_at: Timestamp;
}

export type SyncWhat = "products" | "inventory" | "orders" | "reconcile";

export interface ShopifySyncJobsTable {
  id: Generated<number>;
  channel_id: number;
  what: SyncWhat;
  full: Generated<boolean>;
  status: Generated<"queued" | "running" | "done" | "failed">;
  progress: ColumnType<Record<string, unknown>, string | undefined, string>;
  error: string | null;
  leased_until: Date | null;
  created_at: Timestamp;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface ShopifyShipmentsTable {
  fulfilment_id: number;
  channel_id: number;
  order_gid: string;
  carrier: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
  lines: ColumnType<{ sku: string; quantity: number }[], string, string>;
  state: Generated<"pending" | "sent" | "failed">;
  attempt: Generated<number>;
  next_attempt_at: Timestamp;
  leased_until: Date | null;
  fulfillment_gid: string | null;
  error: string | null;
  created_at: Timestamp;
  sent_at: Date | null;
}

export interface WooShipmentsTable {
  fulfilment_id: number;
  channel_id: number;
  order_id: number;
  remote_order_id: string;
  carrier: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
  state: Generated<"pending" | "sent" | "failed">;
  attempt: Generated<number>;
  next_attempt_at: Timestamp;
  leased_until: Date | null;
  note_id: string | null;
  completed: Generated<boolean>;
  error: string | null;
  created_at: Timestamp;
  sent_at: Date | null;
}

export interface ShopifyProductPushesTable {
  channel_id: number;
  product_gid: string;
  keel_product_id: number;
  wanted: ColumnType<
    { title: string; status: string; variants: { id: string; price: string }[] },
    string,
    string
  >;
  state: Generated<"pending" | "sent" | "failed">;
  attempt: Generated<number>;
  next_attempt_at: Timestamp;
  leased_until: Date | null;
  version: Generated<number>;
  error: string | null;
  sent_at: Date | null;
  updated_at: Timestamp;
}

declare module "./schema.js" {
  interface Database {
    shopify_inventory_items: ShopifyInventoryItemsTable;
    shopify_stock_targets: ShopifyStockTargetsTable;
    shopify_channel_state: ShopifyChannelStateTable;
    shopify_sync_jobs: ShopifySyncJobsTable;
    shopify_shipments: ShopifyShipmentsTable;
    woo_shipments: WooShipmentsTable;
    shopify_product_pushes: ShopifyProductPushesTable;
  }
}
