import type { ColumnType, Generated } from "kysely";

/** Row types of the returns tables (migrations/007_returns.sql), merged into `Database`. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type ReturnStatus = "requested" | "authorised" | "rejected" | "received" | "inspected" | "closed";
export type Condition = "new" | "opened" | "used" | "damaged" | "defective";
export type Disposition = "restock" | "quarantine" | "refurbish" | "scrap";

export interface ReturnsTable {
  id: Generated<number>;
  number: Generated<string>;
  order_id: number;
  status: Generated<ReturnStatus>;
  location_id: number | null;
  rejection_reason: string | null;
  note: string | null;
  refunded: Generated<number>;
  exchange_order_id: number | null;
  actor: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface ReturnLinesTable {
  id: Generated<number>;
  return_id: number;
  line_no: number;
  order_line_id: number;
  sku: string;
  quantity: number;
  reason: string;
  received: Generated<number>;
  inspected: Generated<number>;
}
export interface ReturnInspectionsTable {
  id: Generated<number>;
  return_line_id: number;
  quantity: number;
  condition: Condition;
  disposition: Disposition;
  note: string | null;
  actor: string;
  at: Timestamp;
}
export interface ReturnRefundsTable {
  id: Generated<number>;
  return_id: number;
  amount: number;
  reference: string | null;
  actor: string;
  at: Timestamp;
}
export interface ReturnTimelineTable {
  id: Generated<number>;
  return_id: number;
  from_status: string | null;
  to_status: string;
  action: string;
  actor: string;
  reason: string | null;
  at: Timestamp;
}

declare module "../db/schema.js" {
  interface Database {
    returns: ReturnsTable;
    return_lines: ReturnLinesTable;
    return_inspections: ReturnInspectionsTable;
    return_refunds: ReturnRefundsTable;
    return_timeline: ReturnTimelineTable;
  }
}
