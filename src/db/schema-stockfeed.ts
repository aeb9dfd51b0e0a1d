import type { ColumnType } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface StockFeedStateTable {
  variant_id: number;
  location_id: number;
  source: string;
  last_as_of: Timestamp;
  last_on_hand: number;
  updated_at: Timestamp;
}

export interface ChannelStockPoliciesTable {
  channel_id: number;
  /** location codes the channel sells from; null = every active location */
  locations: string[] | null;
  buffer: number;
  share_percent: number;
  max: number | null;
  updated_at: Timestamp;
}

declare module "./schema.js" {
  interface Database {
    stock_feed_state: StockFeedStateTable;
    channel_stock_policies: ChannelStockPoliciesTable;
  }
}

export interface StockFeedPullsTable {
  channel_id: number;
  cursor: ColumnType<string, string | undefined, string>;
  next_run_at: Timestamp;
  leased_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_success_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  consecutive_failures: ColumnType<number, number | undefined, number>;
  pulled_levels: ColumnType<number, number | undefined, number>;
}

declare module "./schema.js" {
  interface Database {
    stock_feed_pulls: StockFeedPullsTable;
  }
}
