import { sql } from "kysely";
import type { Tx } from "../../db/tx.js";
import "../../db/schema-monitor.js";

/**
 * The one place integration failures are written. Every part that crosses the
 * shop's boundary (webhook deliveries, the stock feed, CSV imports, channel
 * connectors) records a failure here in its own transaction, and resolves it
 * when a later attempt succeeds, so "what is broken right now" is one query
 * and never derived in ten places.
 */
export interface FailureReport {
  /** webhook | stock-feed | csv | nats | shopify | woocommerce | … */
  source: string;
  channel?: string | null;
  /** deliver | push_inventory | ingest_order | confirm_shipment | import | … */
  operation: string;
  /** What it is about (a delivery id, an order's external id, `sku@location`); '' for the operation as a whole. */
  subject?: string;
  error: string;
  /** What a retry needs and what a person wants to see. */
  detail?: Record<string, unknown>;
}

/** Opens a failure, or bumps the open one for the same source, operation and subject. Returns its id. */
export async function recordFailure(tx: Tx, f: FailureReport): Promise<number> {
  const row = await sql<{ id: number }>`
    insert into integration_failures (source, channel_code, operation, subject, error, detail)
    values (${f.source}, ${f.channel ?? null}, ${f.operation}, ${f.subject ?? ""}, ${f.error.slice(0, 2000)},
            ${JSON.stringify(f.detail ?? {})}::jsonb)
    on conflict (source, operation, subject) where status = 'open'
    do update set attempts = integration_failures.attempts + 1, last_at = now(),
                  error = excluded.error, detail = excluded.detail
    returning id`.execute(tx);
  return Number(row.rows[0]?.id);
}

/** Resolves the open failure for this source, operation and subject, if there is one (a later success). */
export async function resolveFailure(
  tx: Tx,
  f: { source: string; operation: string; subject?: string },
  resolution = "succeeded",
): Promise<boolean> {
  const res = await sql`
    update integration_failures set status = 'resolved', resolved_at = now(), resolution = ${resolution}
    where source = ${f.source} and operation = ${f.operation} and subject = ${f.subject ?? ""} and status = 'open'`.execute(
    tx,
  );
  return Number(res.numAffectedRows ?? 0) > 0;
}
