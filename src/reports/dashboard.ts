import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { fillRate } from "./orders.js";
import { dbNow, drill, hoursSince, iso } from "./report.js";

/**
 * The admin app's first page in one call: the queues to work (with counts
 * and the oldest item's age), today's orders and revenue (UTC day, per
 * currency), the fill rate of the last 7 days, exceptions, the critical stock
 * count (levels at or below their low-stock threshold, and open stock
 * alerts) and integration health. Each figure reads an index: open orders,
 * open fulfilments, today's orders, open failures and alerts.
 */
export async function dashboard(db: DB) {
  const now = await dbNow(db);
  const [queues, today, exceptions, stock, integrations, fill] = await Promise.all([
    sql<{ queue: string; count: number; oldest: Date | null; drill: string }>`
      select 'orders:' || status as queue, count(*)::int as count, min(placed_at) as oldest,
        '/v1/orders?status=' || status || '&sort=oldest' as drill
      from orders where status in ('received', 'on_hold', 'approved', 'backordered', 'preparing', 'partially_shipped')
      group by status
      union all
      select 'fulfilments:' || status, count(*)::int, min(created_at), '/v1/fulfillments?status=' || status
      from fulfillments where status in ('pending', 'picking', 'packed') group by status
      union all
      select 'returns:' || status, count(*)::int, min(created_at), '/v1/returns?status=' || status
      from returns where status in ('requested', 'authorised', 'received') group by status
      order by 1`.execute(db),
    sql<{ currency: string; orders: number; revenue: number }>`
      select currency, count(*)::int as orders, coalesce(sum(total), 0)::bigint as revenue
      from orders where placed_at >= date_trunc('day', ${now}::timestamptz at time zone 'UTC') at time zone 'UTC'
        and status <> 'cancelled'
      group by currency order by currency`.execute(db),
    sql<{ on_hold: number; overdue: number; backordered_units: number }>`
      select (select count(*) from orders where status = 'on_hold')::int as on_hold,
        (select count(*) from orders where sla_due_at < ${now}::timestamptz
          and status in ('received', 'on_hold', 'approved', 'backordered', 'preparing', 'partially_shipped'))::int as overdue,
        (select coalesce(sum(backordered), 0) from order_lines where backordered > 0)::int as backordered_units`.execute(
      db,
    ),
    sql<{ at_threshold: number; alerts: number }>`
      select (select count(*) from inventory_levels il join variants v on v.id = il.variant_id
              where v.low_stock_threshold is not null and il.available <= v.low_stock_threshold)::int as at_threshold,
        (select count(*) from alerts where status = 'open' and kind in ('low_stock', 'out_of_stock'))::int as alerts`.execute(
      db,
    ),
    sql<{ source: string; open: number; oldest: Date }>`
      select source, count(*)::int as open, min(first_at) as oldest from integration_failures
      where status = 'open' group by source order by source`.execute(db),
    fillRate(db, { from: new Date(now.getTime() - 7 * 86_400_000), to: now }, {}),
  ]);
  const openAlerts = await sql<{ kind: string; n: number }>`
    select kind, count(*)::int as n from alerts where status = 'open' group by kind order by kind`.execute(
    db,
  );
  const f = fill.data.reduce(
    (a, r) => ({ shipped: a.shipped + r.units_shipped, ordered: a.ordered + r.units_ordered }),
    { shipped: 0, ordered: 0 },
  );
  return {
    computed_at: now.toISOString(),
    source: "live" as const,
    queues: queues.rows.map((q) => ({
      queue: q.queue,
      count: q.count,
      oldest_at: iso(q.oldest),
      oldest_age_hours: hoursSince(q.oldest, now),
      drill: q.drill,
    })),
    today: {
      orders: today.rows.reduce((n, r) => n + r.orders, 0),
      revenue: today.rows.map((r) => ({ currency: r.currency, amount: r.revenue, orders: r.orders })),
      drill: drill("/v1/orders", { sort: "newest" }),
    },
    fill_rate_7d: {
      by_channel: fill.data.map((r) => ({ channel: r.channel, unit_fill_rate: r.unit_fill_rate })),
      units_ordered: f.ordered,
      units_shipped: f.shipped,
      drill: "/v1/reports/fill-rate",
    },
    exceptions: {
      orders_on_hold: exceptions.rows[0].on_hold,
      orders_overdue: exceptions.rows[0].overdue,
      backordered_units: exceptions.rows[0].backordered_units,
      open_alerts: Object.fromEntries(openAlerts.rows.map((r) => [r.kind, r.n])),
      drill: "/v1/alerts?status=open",
    },
    critical_stock: {
      at_or_below_threshold: stock.rows[0].at_threshold,
      open_stock_alerts: stock.rows[0].alerts,
      drill: "/v1/reports/critical-stock",
    },
    integrations: {
      healthy: integrations.rows.length === 0,
      open_failures: integrations.rows.map((r) => ({
        source: r.source,
        open: r.open,
        oldest_at: iso(r.oldest),
      })),
      drill: "/v1/integrations/health",
    },
  };
}
