import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface OutboxCursorsTable {
  consumer: string;
  last_event_id: Generated<number>;
  updated_at: Timestamp;
}

export interface WebhookSubscriptionsTable {
  id: Generated<number>;
  url: string;
  events: string[];
  secret: string;
  status: Generated<"active" | "failing">;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  subscription_id: number;
  event_id: number;
  event_type: string;
  status: Generated<"pending" | "delivered" | "dead">;
  attempt: Generated<number>;
  next_attempt_at: Timestamp;
  leased_until: Date | null;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  replay_of: number | null;
  delivered_at: Date | null;
  created_at: Timestamp;
}

declare module "./schema.js" {
  interface Database {
    outbox_cursors: OutboxCursorsTable;
    webhook_subscriptions: WebhookSubscriptionsTable;
    webhook_deliveries: WebhookDeliveriesTable;
  }
}
