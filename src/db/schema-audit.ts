import type { ColumnType, Generated } from "kysely";

type Json = ColumnType<unknown, string | null | undefined, never>;

export interface AuditLogTable {
  id: Generated<number>;
  at: ColumnType<Date, Date | string | undefined, never>;
  actor: string;
  actor_kind: "key" | "user" | "anonymous";
  action: string;
  entity_type: string | null;
  entity_id: string | null;
  before: Json;
  after: Json;
  request_id: string | null;
  ip: string | null;
  approval_id: ColumnType<number | null, number | null | undefined, never>;
}

export interface AuditSealsTable {
  seq: ColumnType<number, number, never>;
  id: ColumnType<number, number, never>;
  prev_hash: ColumnType<Buffer, Buffer, never>;
  hash: ColumnType<Buffer, Buffer, never>;
  sealed_at: ColumnType<Date, Date | string | undefined, never>;
}

declare module "./schema.js" {
  interface Database {
    audit_log: AuditLogTable;
    audit_seals: AuditSealsTable;
  }
}
