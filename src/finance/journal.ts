import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import type { AccountRole, Accounts } from "./settings.js";

/**
 * The postings journal: balanced double-entry entries, one per source
 * (an invoice, a credit note, a payment, a refund, a stock movement group).
 * The database refuses an entry that does not balance at commit and any
 * change to a posted one (migrations/080_finance.sql). Stock postings are
 * made by the ledger's trigger; this file posts the money side.
 */

export type SourceType = "invoice" | "credit_note" | "payment" | "refund" | "stock_movement" | "dropship";

export interface Posting {
  role: AccountRole;
  debit?: number;
  credit?: number;
  sku?: string | null;
}

/**
 * Posts one entry; lines of 0 are left out and an entry with nothing left is
 * not posted. Posting the same source twice is a no-op (unique source).
 */
export async function postEntry(
  tx: Tx,
  accounts: Accounts,
  e: {
    source_type: SourceType;
    source_id: string | number;
    reference?: string | null;
    currency: string;
    description: string;
    lines: Posting[];
  },
): Promise<number | null> {
  const lines = e.lines.flatMap((l) => {
    const net = (l.debit ?? 0) - (l.credit ?? 0);
    if (net === 0) return [];
    return [
      { account: accounts[l.role], debit: Math.max(net, 0), credit: Math.max(-net, 0), sku: l.sku ?? null },
    ];
  });
  if (lines.length === 0) return null;
  const d = lines.reduce((s, l) => s + l.debit, 0);
  const c = lines.reduce((s, l) => s + l.credit, 0);
  if (d !== c)
    throw new Error(`journal entry for ${e.source_type} ${e.source_id} does not balance: ${d} ≠ ${c}`);
  const entry = await sql<{ id: number }>`
    insert into journal_entries (source_type, source_id, reference, currency, description)
    values (${e.source_type}, ${String(e.source_id)}, ${e.reference ?? null}, ${e.currency}, ${e.description})
    on conflict (source_type, source_id) do nothing
    returning id`.execute(tx);
  const id = entry.rows[0]?.id;
  if (id === undefined) return null;
  await sql`
    insert into journal_lines (entry_id, line_no, account, debit, credit, sku)
    select ${id}, n, a, d, c, s from unnest(${lines.map((l) => l.account)}::text[], ${lines.map((l) => l.debit)}::bigint[],
      ${lines.map((l) => l.credit)}::bigint[], ${lines.map((l) => l.sku)}::text[]) with ordinality as x(a, d, c, s, n)`.execute(
    tx,
  );
  return id;
}

export interface JournalRow {
  entry_id: number;
  posted_at: string;
  source_type: SourceType;
  source_id: string;
  reference: string | null;
  description: string;
  currency: string;
  line_no: number;
  account: string;
  debit: number;
  credit: number;
  sku: string | null;
}

/** Journal lines posted in [from, to), in posting order. */
export async function readJournal(
  db: DB,
  q: { from?: string; to?: string; limit: number; after?: number },
): Promise<JournalRow[]> {
  const r = await sql<JournalRow & { posted_at: Date }>`
    select e.id as entry_id, e.posted_at, e.source_type, e.source_id, e.reference, e.description, e.currency,
      l.line_no, l.account, l.debit, l.credit, l.sku
    from journal_entries e join journal_lines l on l.entry_id = e.id
    where (${q.from ?? null}::timestamptz is null or e.posted_at >= ${q.from ?? null}::timestamptz)
      and (${q.to ?? null}::timestamptz is null or e.posted_at < ${q.to ?? null}::timestamptz)
      and e.id > ${q.after ?? 0}
    order by e.id, l.line_no
    limit ${q.limit}`.execute(db);
  return r.rows.map((x) => ({ ...x, posted_at: x.posted_at.toISOString() }));
}

const CSV_COLUMNS: (keyof JournalRow)[] = [
  "entry_id",
  "posted_at",
  "source_type",
  "source_id",
  "reference",
  "description",
  "currency",
  "line_no",
  "account",
  "debit",
  "credit",
  "sku",
];

function cell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function journalCsv(rows: JournalRow[]): string {
  return (
    [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") +
    "\n"
  );
}
