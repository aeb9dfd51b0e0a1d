import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { ValidationFailed } from "../http/errors.js";
import { channelId, days, drill, type Period, rate, report } from "./report.js";

/**
 * Best or least sellers over the UTC days the period [from, to) touches by shipped line units,
 * revenue or margin (revenue − cost of goods at moving-average cost), from
 * the `sales_value_daily` rollup (src/reports/sales-rollup.ts, a few seconds
 * behind the shipments). Least sellers include active variants that sold
 * nothing. One currency at a time: a shop selling in several must name one
 * (`currency=`), revenue in different currencies is never added up.
 */
export async function salesRanking(
  db: DB,
  p: Period,
  q: {
    by: "units" | "revenue" | "margin";
    order: "best" | "least";
    limit: number;
    channel?: string;
    currency?: string;
  },
) {
  const ch = q.channel ? await channelId(db, q.channel) : null;
  const { from, to } = days(p);
  let currency = q.currency ?? null;
  if (!currency) {
    // the period's sales currencies; with none, the catalogue's most common one (for least sellers)
    const cs = await sql<{ currency: string }>`
      select distinct currency from sales_value_daily where day >= ${from}::date and day < ${to}::date
      order by currency`.execute(db);
    if (cs.rows.length > 1) {
      throw new ValidationFailed(
        [
          {
            path: "query.currency",
            message: `sales in the period are in several currencies (${cs.rows.map((c) => c.currency).join(", ")}); name one`,
          },
        ],
        400,
      );
    }
    currency =
      cs.rows[0]?.currency ??
      (
        await sql<{ currency: string }>`
          select currency from variants group by currency order by count(*) desc, currency limit 1`.execute(
          db,
        )
      ).rows[0]?.currency ??
      "EUR";
  }
  const key =
    q.by === "units" ? sql.raw("units") : q.by === "revenue" ? sql.raw("revenue") : sql.raw("margin");
  const dir = q.order === "best" ? sql.raw("desc") : sql.raw("asc");
  const r = await sql<{
    sku: string;
    title: string | null;
    units: number;
    revenue: number;
    cost: number;
    margin: number;
    uncosted_units: number;
  }>`
    with s as (
      select variant_id, sum(units)::int as units, sum(revenue)::bigint as revenue, sum(cost)::bigint as cost,
        sum(uncosted_units)::int as uncosted_units
      from sales_value_daily
      where day >= ${from}::date and day < ${to}::date and currency = ${currency}
        ${ch !== null ? sql`and channel_id = ${ch}` : sql``}
      group by variant_id
    ), ranked as (
      select v.sku, coalesce(v.title, p.title) as title, coalesce(s.units, 0) as units, coalesce(s.revenue, 0) as revenue,
        coalesce(s.cost, 0) as cost, coalesce(s.revenue - s.cost, 0)::bigint as margin, coalesce(s.uncosted_units, 0) as uncosted_units
      from variants v join products p on p.id = v.product_id
      ${q.order === "best" ? sql`join s on s.variant_id = v.id` : sql`left join s on s.variant_id = v.id`}
      where ${q.order === "best" ? sql`true` : sql`p.status = 'active' and v.currency = ${currency}`}
    )
    select * from ranked order by ${key} ${dir}, sku limit ${q.limit}`.execute(db);
  return report(
    r.rows.map((x, i) => ({
      rank: i + 1,
      sku: x.sku,
      title: x.title,
      units: x.units,
      revenue: x.revenue,
      cost: x.cost,
      margin: x.margin,
      margin_rate: rate(x.margin, x.revenue),
      uncosted_units: x.uncosted_units,
      currency,
      drill: drill("/v1/inventory/movements", { sku: x.sku, reason: "sale" }),
    })),
    "rollup",
  );
}

/**
 * Returned units over shipped units in the period. Returned: units on
 * returns requested in the period (rejected returns left out); shipped: line
 * units shipped in the period (the sales rollup). By reason the rate is over
 * all units shipped; by SKU over that SKU's; by channel over that channel's.
 * A unit sold, returned and sold again counts as two sales and one return.
 */
export async function returnsReport(db: DB, p: Period, by: "reason" | "sku" | "channel") {
  const { from, to } = days(p);
  const group = by === "reason" ? sql.raw("rl.reason") : by === "sku" ? sql.raw("ol.sku") : sql.raw("c.code");
  const r = await sql<{ key: string; returns: number; units: number; received: number; shipped: number }>`
    with ret as (
      select ${group} as key, count(distinct r.id)::int as returns, sum(rl.quantity)::int as units, sum(rl.received)::int as received
      from returns r join return_lines rl on rl.return_id = r.id join order_lines ol on ol.id = rl.order_line_id
        join orders o on o.id = r.order_id join channels c on c.id = o.channel_id
      where r.created_at >= ${p.from} and r.created_at < ${p.to} and r.status <> 'rejected'
      group by 1
    ), sold as (
      ${
        by === "reason"
          ? sql`select null::text as key, sum(units)::int as shipped from sales_value_daily where day >= ${from}::date and day < ${to}::date`
          : by === "sku"
            ? sql`select v.sku as key, sum(s.units)::int as shipped from sales_value_daily s join variants v on v.id = s.variant_id
                  where s.day >= ${from}::date and s.day < ${to}::date group by v.sku`
            : sql`select c.code as key, sum(s.units)::int as shipped from sales_value_daily s join channels c on c.id = s.channel_id
                  where s.day >= ${from}::date and s.day < ${to}::date group by c.code`
      }
    )
    select ret.key, ret.returns, ret.units, ret.received,
      coalesce(${by === "reason" ? sql`(select shipped from sold)` : sql`(select shipped from sold where sold.key = ret.key)`}, 0)::int as shipped
    from ret order by ret.units desc, ret.key`.execute(db);
  return report(
    r.rows.map((x) => ({
      [by]: x.key,
      returns: x.returns,
      units_returned: x.units,
      units_received: x.received,
      units_shipped: x.shipped,
      return_rate: rate(x.units, x.shipped),
      drill: drill("/v1/returns"),
    })) as Array<Record<string, unknown> & { drill: string }>,
    "rollup",
  );
}
