import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * When more of a variant is expected: the earliest expected date (YYYY-MM-DD)
 * of an open purchase order line (submitted or partially received) that still
 * has units outstanding, at `locationId` or anywhere. null when nothing is on
 * order. For the orders module, to date backordered and pre-ordered lines.
 * Drop-ship orders (no location) bring nothing to stock and are left out.
 */
export async function expectedDateFor(
  db: DB | Tx,
  variantId: number,
  locationId?: number,
): Promise<string | null> {
  const row = await sql<{ expected: string | null }>`
    select min(coalesce(pl.expected_date, po.expected_date))::text as expected
    from purchase_order_lines pl join purchase_orders po on po.id = pl.purchase_order_id
    where pl.variant_id = ${variantId} and pl.received < pl.quantity
      and po.status in ('submitted', 'partially_received') and po.location_id is not null
      ${locationId !== undefined ? sql`and po.location_id = ${locationId}` : sql``}`.execute(db);
  return row.rows[0]?.expected ?? null;
}

/** The same for many variants at once: variant id → earliest expected date (only those on order). */
export async function expectedDatesFor(
  db: DB | Tx,
  variantIds: number[],
  locationId?: number,
): Promise<Map<number, string>> {
  if (variantIds.length === 0) return new Map();
  const rows = await sql<{ variant_id: number; expected: string }>`
    select pl.variant_id, min(coalesce(pl.expected_date, po.expected_date))::text as expected
    from purchase_order_lines pl join purchase_orders po on po.id = pl.purchase_order_id
    where pl.variant_id = any(${variantIds}::bigint[]) and pl.received < pl.quantity
      and po.status in ('submitted', 'partially_received') and po.location_id is not null
      ${locationId !== undefined ? sql`and po.location_id = ${locationId}` : sql``}
    group by pl.variant_id
    having min(coalesce(pl.expected_date, po.expected_date)) is not null`.execute(db);
  return new Map(rows.rows.map((r) => [r.variant_id, r.expected]));
}
