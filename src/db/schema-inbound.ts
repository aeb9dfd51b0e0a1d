import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string | undefined, string>;

/** Inbound channel webhooks and what they were applied to (migrations/040_channel_inbox.sql). */

export type InboxStatus = "pending" | "done" | "stale" | "ignored" | "failed";

export interface ChannelInboxTable {
  id: Generated<number>;
  channel_id: number;
  platform: "shopify" | "woocommerce";
  topic: string;
  dedupe_key: string;
  event_key: string | null;
  triggered_at: Date | null;
  headers: Json<Record<string, string>>;
  body: string;
  status: Generated<InboxStatus>;
  attempts: Generated<number>;
  leased_until: Date | null;
  outcome: Json<Record<string, unknown> | null> | null;
  error: string | null;
  received_at: Timestamp;
  processed_at: Date | null;
}

export interface ChannelOrdersTable {
  channel_id: number;
  external_id: string;
  remote_id: string | null;
  order_id: number | null;
  last_triggered_at: Date | null;
  unknown_skus: Generated<string[]>;
  updated_at: Timestamp;
}

export interface ChannelRefundsTable {
  channel_id: number;
  external_id: string;
  order_id: number;
  amount: number;
  lines: Json;
  note: string | null;
  created_at: Timestamp;
}

export interface ChannelFulfillmentsTable {
  channel_id: number;
  external_id: string;
  order_id: number;
  status: string | null;
  carrier: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
  lines: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ChannelInventoryLevelsTable {
  channel_id: number;
  inventory_item_id: string;
  location_id: string;
  available: number | null;
  remote_updated_at: Date | null;
  pending: Generated<boolean>;
  received_at: Timestamp;
}

declare module "./schema.js" {
  interface Database {
    channel_inbox: ChannelInboxTable;
    channel_orders: ChannelOrdersTable;
    channel_refunds: ChannelRefundsTable;
    channel_fulfillments: ChannelFulfillmentsTable;
    channel_inventory_levels: ChannelInventoryLevelsTable;
  }
}

export interface ChannelWooItemsTable {
  channel_id: number;
  sku: string;
  product_id: string;
  variation_id: string | null;
  last_quantity: number | null;
  last_status: "instock" | "outofstock" | "onbackorder" | null;
  pushed_at: Date | null;
  dirty_at: Date | null;
}

declare module "./schema.js" {
  interface Database {
    channel_woo_items: ChannelWooItemsTable;
  }
}
