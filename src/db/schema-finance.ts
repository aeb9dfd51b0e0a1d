import type { ColumnType, Generated } from "kysely";

/** Finance tables (migrations/080_finance.sql); most finance code reads them with plain SQL. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface JournalEntriesTable {
  id: Generated<number>;
  posted_at: Timestamp;
  source_type: "invoice" | "credit_note" | "payment" | "refund" | "stock_movement" | "dropship";
  source_id: string;
  reference: string | null;
  currency: string;
  description: string;
}

export interface JournalLinesTable {
  entry_id: number;
  line_no: number;
  account: string;
  debit: number;
  credit: number;
  sku: string | null;
}

export interface DocumentCountersTable {
  kind: "invoice" | "credit_note";
  year: number;
  last: number;
}

declare module "./schema.js" {
  interface Database {
    journal_entries: JournalEntriesTable;
    journal_lines: JournalLinesTable;
    document_counters: DocumentCountersTable;
  }
}
