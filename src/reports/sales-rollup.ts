import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * Keeps `sales_value_daily` (shipped line units, revenue and cost per sold
 * variant × channel × currency × UTC day) from the outbox's
 * `fulfillment.shipped` events, so the sales ranking never scans order
 * history per request.
 *
 * Incremental and exact, on the outbox's transaction ids like `sales_daily`
 * (src/replenishment/rollup.ts): a run takes the events of every transaction
 * in [horizon, oldest transaction still running) (at most ROLLUP_TXIDS of
 * them) — all committed or rolled
 * back by then — adds their shipments and moves the horizon on, in one
 * transaction with the horizon row locked. A concurrent run waits for the
 * row and starts from the new horizon; a failed run changes nothing. A
 * fulfilment ships once (its state machine allows `ship` only from packed),
 * so each shipment is one event.
 */
/**
 * Transactions one run takes at most, so a first run over a long outbox (or
 * a catch-up after downtime) is many short transactions, not one long one.
 */
export const ROLLUP_TXIDS = 200_000;

export async function rollUpSalesValue(db: DB, maxTxids = ROLLUP_TXIDS): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await sql`select horizon from sales_value_rollup for update`.execute(tx);
    const r = await sql<{ shipments: number }>`
      with upto as (select least(pg_snapshot_xmin(pg_current_snapshot()),
        ((h.horizon::text::bigint + ${maxTxids})::text)::xid8) as xid from sales_value_rollup h),
      shipped as (
        select (e.payload->>'id')::bigint as id from outbox_events e
        where e.type = 'fulfillment.shipped'
          and e.txid >= (select horizon from sales_value_rollup) and e.txid < (select xid from upto)
      ),
      rows as (${shipmentFigures(sql`select id from shipped`)}),
      added as (
        insert into sales_value_daily as s (variant_id, channel_id, currency, day, units, revenue, cost, uncosted_units)
        select variant_id, channel_id, currency, day, units, revenue, cost, uncosted_units from rows
        on conflict (day, variant_id, channel_id, currency) do update set units = s.units + excluded.units,
          revenue = s.revenue + excluded.revenue, cost = s.cost + excluded.cost,
          uncosted_units = s.uncosted_units + excluded.uncosted_units
      ),
      moved_on as (
        update sales_value_rollup set horizon = upto.xid, runs = runs + 1, updated_at = now()
        from upto where sales_value_rollup.horizon < upto.xid
      )
      select count(*)::int as shipments from shipped`.execute(tx);
    return r.rows[0].shipments;
  });
}

/**
 * The figures of some shipped fulfilments, grouped as the rollup keeps them:
 * line units (a bundle's first component row counts the line's units),
 * revenue at the line's unit price, cost at each stocked unit's current
 * moving-average cost, rounded per fulfilment line so that the figures of
 * any split of the shipments add up to those of the whole (the property test
 * found a batch-rounded sum off by one). Shared by the rollup and by the live
 * computation the property test compares it with.
 */
export function shipmentFigures(fulfilmentIds: ReturnType<typeof sql>) {
  return sql`
    select l.variant_id, o.channel_id, o.currency, (f.shipped_at at time zone 'UTC')::date as day,
      coalesce(sum(fl.quantity / a.per_unit) filter (where a.counts_units), 0)::int as units,
      coalesce(sum((fl.quantity / a.per_unit) * l.unit_price) filter (where a.counts_units), 0)::bigint as revenue,
      coalesce(sum(round(fl.quantity * coalesce(c.avg_cost, 0))), 0)::bigint as cost,
      coalesce(sum(fl.quantity) filter (where c.avg_cost is null), 0)::int as uncosted_units
    from fulfillments f
    join fulfillment_lines fl on fl.fulfillment_id = f.id
    join order_allocations a on a.id = fl.allocation_id
    join order_lines l on l.id = a.line_id
    join orders o on o.id = f.order_id
    left join variant_costs c on c.variant_id = a.variant_id
    where f.id in (${fulfilmentIds}) and f.shipped_at is not null
    group by 1, 2, 3, 4`;
}

/** Live: the same figures straight from every shipped fulfilment (for the property test and audits). */
export async function liveSalesValue(db: DB | Tx) {
  const r =
    await sql<SalesValueRow>`${shipmentFigures(sql`select id from fulfillments where shipped_at is not null`)}`.execute(
      db,
    );
  return r.rows;
}

export interface SalesValueRow {
  variant_id: number;
  channel_id: number;
  currency: string;
  day: Date;
  units: number;
  revenue: number;
  cost: number;
  uncosted_units: number;
}

/**
 * Rebuilds `sales_value_daily` from the fulfilments, for history loaded in
 * bulk without outbox events (an import, the benchmark's generator). Exact
 * like the incremental run: with the horizon row locked, every shipped
 * fulfilment visible now goes in except those whose `fulfillment.shipped`
 * event belongs to a transaction at or after the new horizon (the next
 * incremental run takes those), and the horizon moves to the oldest
 * transaction still running. Returns the rows written.
 */
export async function rebuildSalesValue(db: DB): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await sql`select horizon from sales_value_rollup for update`.execute(tx);
    await sql`delete from sales_value_daily`.execute(tx);
    const r = await sql`
      with upto as (select pg_snapshot_xmin(pg_current_snapshot()) as xid),
      later as (
        select (e.payload->>'id')::bigint as id from outbox_events e
        where e.type = 'fulfillment.shipped' and e.txid >= (select xid from upto)
      ),
      rows as (${shipmentFigures(sql`select f.id from fulfillments f where f.shipped_at is not null and f.id not in (select id from later)`)}),
      moved_on as (update sales_value_rollup set horizon = (select xid from upto), runs = runs + 1, updated_at = now())
      insert into sales_value_daily (variant_id, channel_id, currency, day, units, revenue, cost, uncosted_units)
      select variant_id, channel_id, currency, day, units, revenue, cost, uncosted_units from rows`.execute(
      tx,
    );
    return Number(r.numAffectedRows ?? 0);
  });
}
