import { type RawBuilder, sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { ROLLUP_TXIDS } from "./sales-rollup.js";

/**
 * Keeps `order_facts` (one row per order: channel, placement time, status,
 * line units ordered / shipped / cancelled / backordered, hours to the last
 * shipment) from the outbox. A run takes the events of every transaction in
 * [horizon, oldest transaction still running) — `order.*` (payload `id`) and
 * `fulfillment.*` (payload `order_id`) — and recomputes those orders' rows
 * from their current state, moving the horizon on in the same transaction
 * with the horizon row locked. Recomputing is idempotent, so a run that sees
 * a state newer than its events is only early: the newer change has its own
 * event ahead of the horizon and is recomputed again. Every change to an
 * order's lines, status or shipments writes one of those events.
 */
export async function rollUpOrderFacts(db: DB, maxTxids = ROLLUP_TXIDS): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await sql`select horizon from order_facts_rollup for update`.execute(tx);
    const upto = await sql<{ xid: string }>`
      select least(pg_snapshot_xmin(pg_current_snapshot()),
        ((horizon::text::bigint + ${maxTxids})::text)::xid8)::text as xid from order_facts_rollup`.execute(
      tx,
    );
    const xid = upto.rows[0].xid;
    const ids = await sql<{ id: number }>`
      select distinct case when e.type like 'order.%' then (e.payload->>'id')::bigint
                           else (e.payload->>'order_id')::bigint end as id
      from outbox_events e
      where (e.type like 'order.%' or e.type like 'fulfillment.%')
        and e.txid >= (select horizon from order_facts_rollup)
        and e.txid < ${xid}::xid8`.execute(tx);
    const orderIds = ids.rows.map((r) => r.id).filter((id) => id !== null);
    if (orderIds.length > 0) await upsertFacts(tx, sql`select unnest(${orderIds}::bigint[])`);
    await sql`update order_facts_rollup set horizon = ${xid}::xid8, runs = runs + 1, updated_at = now()
      where horizon < ${xid}::xid8`.execute(tx);
    return orderIds.length;
  });
}

async function upsertFacts(tx: Tx, orderIds: RawBuilder<unknown>) {
  await sql`
    insert into order_facts as f (order_id, channel_id, placed_at, status, units, shipped, cancelled, backordered, hours_to_ship)
    ${factsOf(orderIds)}
    on conflict (order_id) do update set channel_id = excluded.channel_id, placed_at = excluded.placed_at,
      status = excluded.status, units = excluded.units, shipped = excluded.shipped, cancelled = excluded.cancelled,
      backordered = excluded.backordered, hours_to_ship = excluded.hours_to_ship`.execute(tx);
}

/** The facts of some orders, computed from the orders, lines, allocations and fulfilments. */
export function factsOf(orderIds: RawBuilder<unknown>) {
  return sql`
    select o.id, o.channel_id, o.placed_at, o.status,
      coalesce(l.units, 0)::int, coalesce(l.shipped, 0)::int, coalesce(l.cancelled, 0)::int, coalesce(l.backordered, 0)::int,
      case when o.status in ('shipped', 'completed') then
        (extract(epoch from (select max(fu.shipped_at) from fulfillments fu where fu.order_id = o.id) - o.placed_at) / 3600)::float8
      end
    from orders o
    left join lateral (
      select sum(ol.quantity) as units, sum(ol.cancelled) as cancelled, sum(ol.backordered) as backordered,
        sum((select coalesce(sum(a.shipped / a.per_unit), 0) from order_allocations a
             where a.line_id = ol.id and a.counts_units)) as shipped
      from order_lines ol where ol.order_id = o.id
    ) l on true
    where o.id in (${orderIds})`;
}

/**
 * Recomputes every order's facts, for orders loaded without events (bulk
 * history); like rebuildSalesValue, exact with the horizon moved to the
 * oldest running transaction (orders changed after it are recomputed by the
 * next incremental run anyway).
 */
export async function rebuildOrderFacts(db: DB): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await sql`select horizon from order_facts_rollup for update`.execute(tx);
    await sql`delete from order_facts`.execute(tx);
    await upsertFacts(tx, sql`select id from orders`);
    await sql`update order_facts_rollup set horizon = pg_snapshot_xmin(pg_current_snapshot()), runs = runs + 1, updated_at = now()`.execute(
      tx,
    );
    const n = await sql<{ n: number }>`select count(*)::int as n from order_facts`.execute(tx);
    return n.rows[0].n;
  });
}
