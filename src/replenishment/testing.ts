import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { rollUpSales } from "./rollup.js";

/**
 * Past sales of `sku` at `location`, written straight into the ledger as
 * shipments would have left them: for each [days ago, units], a `sale`
 * movement at `hour`:00 UTC that day, after the `receipt` that brought the
 * units in, so balances do not move and the ledger audit stays clean.
 */
export async function recordSales(
  db: DB,
  sku: string,
  location: string,
  sales: [daysAgo: number, units: number][],
  hour = 12,
): Promise<void> {
  const sold = sales.filter(([, units]) => units > 0);
  if (sold.length === 0) return;
  await sql`
    with v as (select id from variants where sku = ${sku}), l as (select id from locations where code = ${location}),
    s as (select ((now() at time zone 'UTC')::date - ago)::timestamp at time zone 'UTC' + make_interval(hours => ${hour}) as at, q
          from unnest(${sold.map(([ago]) => ago)}::int[], ${sold.map(([, q]) => q)}::int[]) as x(ago, q))
    insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor, created_at)
    select v.id, l.id, 'on_hand', q, 'receipt', 'test:sales', 'test', at - interval '1 minute' from s, v, l
    union all
    select v.id, l.id, 'on_hand', -q, 'sale', 'order:test', 'test', at from s, v, l`.execute(db);
}

/**
 * Runs the sales rollup until every committed sale is in it. Other test files
 * share the PostgreSQL server, and the rollup only passes transactions older
 * than every running one, so this may take a few runs.
 */
export async function catchUpSales(db: DB, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await rollUpSales(db);
    const left = await sql<{ n: number }>`
      select count(*)::int as n from inventory_movements
      where reason = 'sale' and bucket = 'on_hand' and txid >= (select horizon from sales_rollup)`.execute(
      db,
    );
    if (left.rows[0].n === 0) return;
    if (Date.now() > until)
      throw new Error(`the sales rollup did not catch up: ${left.rows[0].n} sales left`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
