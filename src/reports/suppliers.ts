import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { drill, type Period, rate, report } from "./report.js";

/**
 * Per supplier, over receipts booked in the period: on-time rate (receipts
 * booked on or before the expected date of their purchase order line, over
 * receipts that had one), lead time from submission to receipt in days (mean
 * and population standard deviation) against the supplier's stated lead
 * time, and the open purchase orders already past their expected date.
 */
export async function supplierPerformance(db: DB, p: Period) {
  const r = await sql<{
    supplier: string;
    name: string;
    stated: number;
    receipts: number;
    dated: number;
    on_time: number;
    units: number;
    mean: number | null;
    sd: number | null;
    late_open: number;
  }>`
    with rec as (
      select po.supplier_id, r.id as receipt_id,
        min(coalesce(pl.expected_date, po.expected_date)) as expected,
        (r.created_at at time zone 'UTC')::date as received_day,
        extract(epoch from (r.created_at - po.submitted_at)) / 86400 as lead_days,
        sum(rl.quantity)::int as units
      from receipts r join purchase_orders po on po.id = r.purchase_order_id
      join receipt_lines rl on rl.receipt_id = r.id
      join purchase_order_lines pl on pl.purchase_order_id = po.id and pl.line_no = rl.po_line_no
      where r.created_at >= ${p.from} and r.created_at < ${p.to}
      group by po.supplier_id, r.id, r.created_at, po.submitted_at
    ), late as (
      select po.supplier_id, count(distinct po.id)::int as n
      from purchase_orders po join purchase_order_lines pl on pl.purchase_order_id = po.id
      where po.status in ('submitted', 'partially_received') and pl.received < pl.quantity
        and coalesce(pl.expected_date, po.expected_date) < (now() at time zone 'UTC')::date
      group by po.supplier_id
    )
    select s.code as supplier, s.name, s.lead_time_days as stated, count(rec.receipt_id)::int as receipts,
      count(rec.expected)::int as dated, count(*) filter (where rec.received_day <= rec.expected)::int as on_time,
      coalesce(sum(rec.units), 0)::int as units,
      avg(rec.lead_days)::float8 as mean, stddev_pop(rec.lead_days)::float8 as sd,
      coalesce(max(late.n), 0)::int as late_open
    from suppliers s left join rec on rec.supplier_id = s.id left join late on late.supplier_id = s.id
    group by s.id, s.code, s.name, s.lead_time_days
    having count(rec.receipt_id) > 0 or coalesce(max(late.n), 0) > 0
    order by s.code`.execute(db);
  const d = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  return report(
    r.rows.map((x) => ({
      supplier: x.supplier,
      name: x.name,
      receipts: x.receipts,
      units_received: x.units,
      on_time: x.on_time,
      on_time_rate: rate(x.on_time, x.dated),
      lead_time_days_mean: d(x.mean),
      lead_time_days_stddev: d(x.sd),
      stated_lead_time_days: x.stated,
      late_open_orders: x.late_open,
      drill: drill("/v1/purchase-orders", { supplier: x.supplier }),
    })),
    "live",
  );
}
