import { sql } from "kysely";
import type { Tx } from "../db/tx.js";

/**
 * Gap-free document numbers per kind and year (`INV-2026-000001`). The
 * counter row is incremented in the issuing transaction, which holds its row
 * lock until it commits: concurrent issuers queue on it, and a rollback
 * gives the number back. A sequence would be faster and leave gaps.
 */
export async function nextNumber(
  tx: Tx,
  kind: "invoice" | "credit_note",
): Promise<{ number: string; year: number; seq: number }> {
  const r = await sql<{ year: number; last: number }>`
    insert into document_counters (kind, year, last)
    values (${kind}, extract(year from now() at time zone 'UTC')::int, 1)
    on conflict (kind, year) do update set last = document_counters.last + 1
    returning year, last`.execute(tx);
  const { year, last } = r.rows[0];
  const prefix = kind === "invoice" ? "INV" : "CN";
  return { number: `${prefix}-${year}-${String(last).padStart(6, "0")}`, year, seq: last };
}
