import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { refundReturn } from "./money.js";
import { inspectReturn, receiveReturn } from "./receiving.js";
import { decideReturn, requestReturn } from "./requests.js";
import type { ReturnStatus } from "./tables.js";

export const DEMO_RETURNS_ACTOR = "seed:demo-returns";

/** Each demo return goes this far along its life. */
const PLAN: { status: ReturnStatus; reason: string }[] = [
  { status: "requested", reason: "does_not_fit" },
  { status: "authorised", reason: "no_longer_needed" },
  { status: "rejected", reason: "arrived_late" },
  { status: "received", reason: "wrong_item" },
  { status: "inspected", reason: "damaged" },
  { status: "closed", reason: "defective" },
];

/**
 * Returns in every state on the demo orders that shipped, through the returns
 * services (so stock moves through the ledger). Does nothing when returns exist.
 */
export async function seedDemoReturns(db: DB): Promise<{ created: number; skipped: boolean }> {
  const existing = await sql<{ n: number }>`select count(*)::int as n from returns`.execute(db);
  if (existing.rows[0].n > 0) return { created: 0, skipped: true };
  const candidates = await sql<{ order_id: number; sku: string; shipped: number; price: number }>`
    select ol.order_id, ol.sku, sum(oa.shipped / oa.per_unit)::int as shipped, ol.unit_price as price
    from order_lines ol join order_allocations oa on oa.line_id = ol.id and oa.counts_units
    where ol.kind <> 'digital'
    group by ol.id having sum(oa.shipped) > 0
    order by ol.order_id, ol.line_no`.execute(db);
  const seenOrders = new Set<number>();
  const lines = candidates.rows.filter((c) => !seenOrders.has(c.order_id) && seenOrders.add(c.order_id));
  let created = 0;
  for (const [i, line] of lines.slice(0, PLAN.length).entries()) {
    const plan = PLAN[i];
    const actor = DEMO_RETURNS_ACTOR;
    await inTransaction(db, async (tx) => {
      const id = await requestReturn(
        tx,
        { order_id: line.order_id, lines: [{ sku: line.sku, quantity: 1, reason: plan.reason }] },
        actor,
      );
      if (plan.status === "requested") return;
      if (plan.status === "rejected") {
        await decideReturn(tx, id, "reject", { actor, reason: "bought in a final sale" });
        return;
      }
      await decideReturn(tx, id, "authorize", { actor });
      if (plan.status === "authorised") return;
      await receiveReturn(tx, id, { lines: [{ sku: line.sku, quantity: 1 }] }, actor);
      if (plan.status === "received") return;
      const disposition = plan.reason === "damaged" ? "scrap" : "restock";
      await inspectReturn(
        tx,
        id,
        [{ sku: line.sku, quantity: 1, condition: disposition === "scrap" ? "damaged" : "new", disposition }],
        actor,
      );
      if (plan.status === "inspected") return;
      const paid = await sql<{ open: number }>`
        select coalesce(sum(case kind when 'paid' then amount when 'refunded' then -amount else 0 end), 0)::int as open
        from order_payments where order_id = ${line.order_id}`.execute(tx);
      const amount = Math.min(line.price, paid.rows[0].open);
      if (amount > 0) await refundReturn(tx, id, { amount }, actor);
      await decideReturn(tx, id, "close", { actor });
    });
    created += 1;
  }
  return { created, skipped: false };
}
