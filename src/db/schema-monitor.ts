import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface IntegrationFailuresTable {
  id: Generated<number>;
  source: string;
  channel_code: string | null;
  operation: string;
  subject: Generated<string>;
  error: string;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  attempts: Generated<number>;
  status: Generated<"open" | "resolved">;
  first_at: Timestamp;
  last_at: Timestamp;
  resolved_at: Date | null;
  resolution: string | null;
}

declare module "./schema.js" {
  interface Database {
    integration_failures: IntegrationFailuresTable;
  }
}
