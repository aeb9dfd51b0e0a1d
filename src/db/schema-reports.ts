import type { ColumnType, Generated } from "kysely";

/** Tables of src/reports and src/alerts (migrations/070_report_rollups.sql, 071_alerts.sql). */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface SalesValueDailyTable {
  variant_id: number;
  channel_id: number;
  currency: string;
  day: ColumnType<Date, string, string>;
  units: number;
  revenue: number;
  cost: number;
  uncosted_units: Generated<number>;
}
export interface SalesValueRollupTable {
  id: Generated<boolean>;
  horizon: string;
  runs: Generated<number>;
  updated_at: Timestamp;
}
export type AlertKind =
  | "low_stock"
  | "out_of_stock"
  | "order_overdue"
  | "integration_failing"
  | "receipt_late"
  | "anomaly"
  | "ledger_drift";
export interface AlertsTable {
  id: Generated<number>;
  kind: AlertKind;
  key: string;
  status: Generated<"open" | "resolved">;
  evidence: Json<Record<string, unknown>>;
  opened_at: Timestamp;
  changed_at: Timestamp;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
}

declare module "./schema.js" {
  interface Database {
    sales_value_daily: SalesValueDailyTable;
    sales_value_rollup: SalesValueRollupTable;
    alerts: AlertsTable;
  }
}

export interface NotificationTargetsTable {
  id: Generated<number>;
  kind: "webhook" | "slack" | "email";
  target: string;
  alert_kinds: string[];
  digest_minutes: number | null;
  secret: string | null;
  active: Generated<boolean>;
  last_digest_at: Date | null;
  created_at: Timestamp;
}
export interface NotificationsTable {
  id: Generated<number>;
  target_id: number;
  alert_id: number;
  event_id: number;
  status: Generated<"queued" | "pending" | "sent" | "failed">;
  attempts: Generated<number>;
  next_at: Timestamp;
  leased_until: Date | null;
  digest_id: number | null;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: Date | null;
}

declare module "./schema.js" {
  interface Database {
    notification_targets: NotificationTargetsTable;
    notifications: NotificationsTable;
  }
}

export interface OrderFactsTable {
  order_id: number;
  channel_id: number;
  placed_at: Date;
  status: string;
  units: number;
  shipped: number;
  cancelled: number;
  backordered: number;
  hours_to_ship: number | null;
}

declare module "./schema.js" {
  interface Database {
    order_facts: OrderFactsTable;
  }
}
