import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * When will more of a variant arrive? The earliest of the open incoming
 * sources: transfers in transit (expected after the setting
 * transfer_transit_days, as transfers carry no date of their own) and, once
 * the purchasing module's tables exist, open purchase order lines with their
 * expected date. Other modules can add a source with registerIncomingSource.
 */

export interface Incoming {
  variantId: number;
  expectedAt: Date | null;
  /** `transfer:12`, `po:7` */
  source: string;
  quantity: number;
}

export type IncomingSource = (
  db: DB | Tx,
  variantIds: number[],
  opts: { transitDays: number },
) => Promise<Incoming[]>;

const transfersInTransit: IncomingSource = async (db, variantIds, { transitDays }) => {
  const rows = await sql<{ variant_id: number; id: number; created_at: Date; open: number }>`
    select tl.variant_id, t.id, t.created_at, tl.quantity - tl.received as open
    from transfer_lines tl join transfers t on t.id = tl.transfer_id
    where tl.variant_id = any(${variantIds}::bigint[]) and t.status <> 'received' and tl.received < tl.quantity`.execute(
    db,
  );
  return rows.rows.map((r) => ({
    variantId: r.variant_id,
    expectedAt: new Date(new Date(r.created_at).getTime() + transitDays * 86_400_000),
    source: `transfer:${r.id}`,
    quantity: r.open,
  }));
};

/** Read only when the table exists, and never allowed to break the caller's transaction. */
const openPurchaseOrders: IncomingSource = async (db, variantIds) => {
  const exists = await sql<{
    t: string | null;
  }>`select to_regclass('purchase_order_lines')::text as t`.execute(db);
  if (!exists.rows[0]?.t) return [];
  // a date, read as text: node-pg would make it local midnight and shift the day in other time zones
  const query = sql<{ variant_id: number; id: number; expected: string | null; open: number }>`
    select pol.variant_id, po.id, coalesce(pol.expected_date, po.expected_date)::text as expected,
           pol.quantity - pol.received as open
    from purchase_order_lines pol join purchase_orders po on po.id = pol.purchase_order_id
    where pol.variant_id = any(${variantIds}::bigint[]) and pol.received < pol.quantity
      and po.status in ('submitted', 'partially_received') and po.location_id is not null`;
  const inTx = db.isTransaction;
  try {
    if (inTx) await sql`savepoint incoming_po`.execute(db);
    const rows = await query.execute(db);
    if (inTx) await sql`release savepoint incoming_po`.execute(db);
    return rows.rows.map((r) => ({
      variantId: r.variant_id,
      expectedAt: r.expected ? new Date(`${r.expected}T00:00:00Z`) : null,
      source: `po:${r.id}`,
      quantity: r.open,
    }));
  } catch {
    if (inTx) await sql`rollback to savepoint incoming_po`.execute(db);
    return [];
  }
};

const sources: IncomingSource[] = [transfersInTransit, openPurchaseOrders];

export function registerIncomingSource(source: IncomingSource): void {
  sources.push(source);
}

/** The earliest dated incoming per variant (an undated one only when nothing is dated). */
export async function nextIncoming(
  db: DB | Tx,
  variantIds: number[],
  opts: { transitDays: number },
): Promise<Map<number, Incoming>> {
  const ids = [...new Set(variantIds)];
  const best = new Map<number, Incoming>();
  if (ids.length === 0) return best;
  for (const source of sources) {
    for (const inc of await source(db, ids, opts)) {
      const cur = best.get(inc.variantId);
      const earlier =
        !cur ||
        (inc.expectedAt !== null &&
          (cur.expectedAt === null || inc.expectedAt.getTime() < cur.expectedAt.getTime()));
      if (earlier) best.set(inc.variantId, inc);
    }
  }
  return best;
}
