import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import "../db/schema-reports.js";
import { expectedDatesFor } from "../purchasing/expected.js";
import { channelId, dbNow, drill, hoursSince, iso, type Period, rate, report } from "./report.js";

/** Statuses an order is still being worked in. */
export const OPEN_STATUSES = [
  "received",
  "on_hold",
  "approved",
  "backordered",
  "preparing",
  "partially_shipped",
];

/**
 * Orders per status, and per hold reason for orders on hold (an order held
 * for two reasons counts under each), with the oldest one's placement time
 * and age. Reads the orders' (status, placed_at) index.
 */
export async function orderStatus(db: DB) {
  const now = await dbNow(db);
  const r = await sql<{ status: string; hold_reason: string | null; orders: number; oldest: Date | null }>`
    select o.status, null::text as hold_reason, count(*)::int as orders, min(o.placed_at) as oldest
    from orders o group by o.status
    union all
    select 'on_hold', h.code, count(*)::int, min(o.placed_at)
    from orders o cross join lateral (select distinct x->>'code' as code from jsonb_array_elements(o.hold_reasons) x) h
    where o.status = 'on_hold' group by h.code
    order by 1, 2 nulls first`.execute(db);
  return report(
    r.rows.map((x) => ({
      status: x.status,
      hold_reason: x.hold_reason,
      orders: x.orders,
      oldest_placed_at: iso(x.oldest),
      oldest_age_hours: hoursSince(x.oldest, now),
      drill: drill("/v1/orders", { status: x.status, hold_reason: x.hold_reason, sort: "oldest" }),
    })),
    "live",
    now,
  );
}

/** Age buckets of open orders, by placement time: [from, to) hours. */
export const AGE_BUCKETS: [string, number, number | null][] = [
  ["0-24h", 0, 24],
  ["24-48h", 24, 48],
  ["2-3d", 48, 72],
  ["3-7d", 72, 168],
  ["7d+", 168, null],
];

/**
 * Open orders per status and age bucket, with how many are past their SLA
 * due time. Reads only open orders (a partial index over them).
 */
export async function orderAging(db: DB) {
  const now = await dbNow(db);
  const r = await sql<{ status: string; age_hours: number; overdue: boolean; n: number; oldest: Date }>`
    select o.status, floor(extract(epoch from (${now}::timestamptz - o.placed_at)) / 3600)::int as age_hours,
      o.sla_due_at < ${now}::timestamptz as overdue, count(*)::int as n, min(o.placed_at) as oldest
    from orders o
    where o.status in ('received', 'on_hold', 'approved', 'backordered', 'preparing', 'partially_shipped')
    group by 1, 2, 3`.execute(db);
  const rows = new Map<
    string,
    { status: string; bucket: string; orders: number; overdue: number; oldest: Date }
  >();
  for (const x of r.rows) {
    const b =
      AGE_BUCKETS.find(([, lo, hi]) => x.age_hours >= lo && (hi === null || x.age_hours < hi)) ??
      AGE_BUCKETS[0];
    const key = `${x.status}\u0000${b[0]}`;
    const row = rows.get(key) ?? { status: x.status, bucket: b[0], orders: 0, overdue: 0, oldest: x.oldest };
    row.orders += x.n;
    if (x.overdue) row.overdue += x.n;
    if (x.oldest < row.oldest) row.oldest = x.oldest;
    rows.set(key, row);
  }
  const order = (s: string) => OPEN_STATUSES.indexOf(s);
  const bucketOrder = (b: string) => AGE_BUCKETS.findIndex(([n]) => n === b);
  return report(
    [...rows.values()]
      .sort((a, b) => order(a.status) - order(b.status) || bucketOrder(a.bucket) - bucketOrder(b.bucket))
      .map((x) => ({
        status: x.status,
        age: x.bucket,
        orders: x.orders,
        overdue: x.overdue,
        oldest_placed_at: iso(x.oldest),
        oldest_age_hours: hoursSince(x.oldest, now),
        drill: drill("/v1/orders", { status: x.status, sort: "oldest" }),
      })),
    "live",
    now,
  );
}

/**
 * Of the line units ordered in the period (orders placed in it, per channel):
 * how many shipped, were cancelled, wait as backorders or are still open;
 * unit fill rate = shipped / ordered over orders that are done (shipped,
 * completed or cancelled — open orders are not yet a failure), and the share
 * of those orders shipped complete with nothing cancelled.
 */
export async function fillRate(db: DB, p: Period, q: { channel?: string }) {
  const ch = q.channel ? await channelId(db, q.channel) : null;
  const r = await sql<{
    channel: string;
    orders: number;
    done_orders: number;
    complete_orders: number;
    units: number;
    done_units: number;
    shipped: number;
    done_shipped: number;
    cancelled: number;
    backordered: number;
  }>`
    with per_order as (
      select channel_id, status in ('shipped', 'completed', 'cancelled') as done, units, shipped, cancelled, backordered
      from order_facts
      where placed_at >= ${p.from} and placed_at < ${p.to} ${ch !== null ? sql`and channel_id = ${ch}` : sql``}
    )
    select c.code as channel, count(*)::int as orders, count(*) filter (where done)::int as done_orders,
      count(*) filter (where done and shipped = units)::int as complete_orders,
      sum(units)::int as units, coalesce(sum(units) filter (where done), 0)::int as done_units,
      sum(shipped)::int as shipped, coalesce(sum(shipped) filter (where done), 0)::int as done_shipped,
      sum(cancelled)::int as cancelled, sum(backordered)::int as backordered
    from per_order x join channels c on c.id = x.channel_id
    group by c.code order by c.code`.execute(db);
  return report(
    r.rows.map((x) => ({
      channel: x.channel,
      orders: x.orders,
      units_ordered: x.units,
      units_shipped: x.shipped,
      units_cancelled: x.cancelled,
      units_backordered: x.backordered,
      done_orders: x.done_orders,
      unit_fill_rate: rate(x.done_shipped, x.done_units),
      order_fill_rate: rate(x.complete_orders, x.done_orders),
      drill: drill("/v1/orders", { channel: x.channel }),
    })),
    "rollup",
  );
}

/**
 * Hours from placement to the last shipment, for orders placed in the period
 * that have shipped in full (shipped or completed): count, mean, p50 and p90
 * (continuous percentiles), per channel and for all channels.
 */
export async function cycleTime(db: DB, p: Period, q: { channel?: string }) {
  const ch = q.channel ? await channelId(db, q.channel) : null;
  const r = await sql<{ channel: string | null; orders: number; mean: number; p50: number; p90: number }>`
    with t as (
      select channel_id, hours_to_ship as hours from order_facts
      where placed_at >= ${p.from} and placed_at < ${p.to} and status in ('shipped', 'completed')
        ${ch !== null ? sql`and channel_id = ${ch}` : sql``}
    )
    select c.code as channel, count(*)::int as orders, avg(hours)::float8 as mean,
      percentile_cont(0.5) within group (order by hours)::float8 as p50,
      percentile_cont(0.9) within group (order by hours)::float8 as p90
    from t left join channels c on c.id = t.channel_id
    where hours is not null
    group by grouping sets ((c.code), ()) order by c.code nulls last`.execute(db);
  const h = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  return report(
    r.rows.map((x) => ({
      channel: x.channel ?? "all",
      orders: x.orders,
      mean_hours: h(x.mean),
      p50_hours: h(x.p50),
      p90_hours: h(x.p90),
      drill: drill("/v1/orders", { status: "shipped,completed", channel: x.channel ?? undefined }),
    })),
    "rollup",
  );
}

/**
 * Cancellations over orders placed in the period. By channel: orders placed,
 * orders cancelled whole, units cancelled (whole or in part) over units
 * ordered. By reason: the reason given for each cancellation in the period
 * (a whole order, or some of its lines), with the orders and the share of the
 * orders placed in the period.
 */
export async function cancellations(db: DB, p: Period, by: "reason" | "channel") {
  if (by === "channel") {
    const r = await sql<{
      channel: string;
      orders: number;
      cancelled_orders: number;
      units: number;
      cancelled: number;
    }>`
      select c.code as channel, count(*)::int as orders,
        count(*) filter (where f.status = 'cancelled')::int as cancelled_orders,
        coalesce(sum(f.units), 0)::int as units, coalesce(sum(f.cancelled), 0)::int as cancelled
      from order_facts f join channels c on c.id = f.channel_id
      where f.placed_at >= ${p.from} and f.placed_at < ${p.to}
      group by c.code order by c.code`.execute(db);
    return report(
      r.rows.map((x) => ({
        channel: x.channel,
        orders: x.orders,
        cancelled_orders: x.cancelled_orders,
        order_cancellation_rate: rate(x.cancelled_orders, x.orders),
        units_ordered: x.units,
        units_cancelled: x.cancelled,
        unit_cancellation_rate: rate(x.cancelled, x.units),
        drill: drill("/v1/orders", { status: "cancelled", channel: x.channel }),
      })),
      "rollup",
    );
  }
  const r = await sql<{ reason: string; orders: number; whole: number; placed: number }>`
    with placed as (select count(*)::int as n from orders where placed_at >= ${p.from} and placed_at < ${p.to}),
    c as (
      select t.order_id, t.action,
        case when t.action = 'cancel_lines' then substr(t.reason, strpos(t.reason, ': ') + 2) else coalesce(t.reason, '') end as reason
      from order_timeline t join orders o on o.id = t.order_id
      where t.action in ('cancel', 'cancel_lines') and t.to_status is not null
        and o.placed_at >= ${p.from} and o.placed_at < ${p.to}
    )
    select reason, count(distinct order_id)::int as orders,
      count(distinct order_id) filter (where action = 'cancel')::int as whole, (select n from placed) as placed
    from c group by reason order by orders desc, reason`.execute(db);
  return report(
    r.rows.map((x) => ({
      reason: x.reason,
      orders: x.orders,
      cancelled_whole: x.whole,
      rate: rate(x.orders, x.placed),
      drill: drill("/v1/orders", { status: "cancelled" }),
    })),
    "live",
  );
}

/**
 * Units waiting for stock per SKU: backordered line units, the orders
 * waiting and the oldest one, against what is on order — incoming units on
 * open purchase orders and the earliest expected date, which is when the
 * backorder is expected to recover (null: nothing on order).
 */
export async function backorders(db: DB) {
  const r = await sql<{
    variant_id: number;
    sku: string;
    units: number;
    orders: number;
    oldest: Date;
    incoming: number;
  }>`
    select l.variant_id, l.sku, sum(l.backordered)::int as units, count(distinct l.order_id)::int as orders,
      min(o.placed_at) as oldest,
      coalesce((select sum(pl.quantity - pl.received) from purchase_order_lines pl join purchase_orders po on po.id = pl.purchase_order_id
        where pl.variant_id = l.variant_id and pl.received < pl.quantity and po.status in ('submitted', 'partially_received')
          and po.location_id is not null), 0)::int as incoming
    from order_lines l join orders o on o.id = l.order_id
    where l.backordered > 0 and o.status <> 'cancelled'
    group by l.variant_id, l.sku order by units desc, l.sku`.execute(db);
  const expected = await expectedDatesFor(
    db,
    r.rows.map((x) => x.variant_id),
  );
  return report(
    r.rows.map((x) => ({
      sku: x.sku,
      units_backordered: x.units,
      orders: x.orders,
      oldest_placed_at: iso(x.oldest),
      units_incoming: x.incoming,
      covered_by_incoming: x.incoming >= x.units,
      expected_recovery: expected.get(x.variant_id) ?? null,
      drill: drill("/v1/orders", { status: "backordered", sort: "oldest" }),
    })),
    "live",
  );
}
