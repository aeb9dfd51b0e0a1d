import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { rollUpOrderFacts } from "./order-facts.js";
import { rollUpSalesValue } from "./sales-rollup.js";

/**
 * Runs the sales-value rollup until every committed shipment event is in it
 * (other test files share the server, and the rollup only passes
 * transactions older than every running one, so this may take a few runs).
 */
export async function catchUpSalesValue(db: DB, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await rollUpSalesValue(db);
    const left = await sql<{ n: number }>`
      select count(*)::int as n from outbox_events
      where type = 'fulfillment.shipped' and txid >= (select horizon from sales_value_rollup)`.execute(db);
    if (left.rows[0].n === 0) return;
    if (Date.now() > until)
      throw new Error(`the sales-value rollup did not catch up: ${left.rows[0].n} left`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the order-facts rollup until every committed order and fulfilment event is in it. */
export async function catchUpOrderFacts(db: DB, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await rollUpOrderFacts(db);
    const left = await sql<{ n: number }>`
      select count(*)::int as n from outbox_events
      where (type like 'order.%' or type like 'fulfillment.%') and txid >= (select horizon from order_facts_rollup)`.execute(
      db,
    );
    if (left.rows[0].n === 0) return;
    if (Date.now() > until)
      throw new Error(`the order-facts rollup did not catch up: ${left.rows[0].n} left`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
