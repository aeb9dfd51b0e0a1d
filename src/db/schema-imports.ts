import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ImportError {
  line: number;
  message: string;
}

export interface ImportsTable {
  id: Generated<number>;
  kind: "products" | "levels";
  status: Generated<"running" | "done" | "failed">;
  actor: string;
  currency: Generated<string>;
  rows: Generated<number>;
  applied: Generated<number>;
  errors: ColumnType<ImportError[], string | undefined, string>;
  error_count: Generated<number>;
  started: Generated<boolean>;
  created_at: Timestamp;
  heartbeat_at: Timestamp;
  finished_at: Date | null;
}

declare module "./schema.js" {
  interface Database {
    imports: ImportsTable;
  }
}
