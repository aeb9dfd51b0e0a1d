import { sql } from "kysely";
import type { DB } from "../db/pool.js";

/**
 * Checks that what orders say they hold is what the stock buckets hold:
 * per variant × location, `reserved` equals the orders' reserved units plus
 * active checkout reservations, and `allocated` equals the orders' allocated
 * units; and that every line adds up (quantity = cancelled + backordered +
 * drop-shipped + held + shipped). An empty list means all is well.
 */
export interface HoldDrift {
  sku: string;
  location: string;
  reserved: number;
  held_reserved: number;
  allocated: number;
  held_allocated: number;
}

export interface LineDrift {
  order: string;
  line_no: number;
  sku: string;
  quantity: number;
  accounted: number;
}

export async function auditOrderHolds(db: DB): Promise<{ levels: HoldDrift[]; lines: LineDrift[] }> {
  const levels = await sql<HoldDrift>`
    with held as (
      select variant_id, location_id, sum(reserved)::int as reserved, sum(allocated)::int as allocated
      from order_allocations group by 1, 2
    ), checkout as (
      select rl.variant_id, rl.location_id, sum(rl.quantity)::int as reserved
      from reservation_lines rl join reservations r on r.id = rl.reservation_id
      where r.status = 'active' group by 1, 2
    )
    select v.sku, l.code as location, il.reserved, coalesce(h.reserved, 0) + coalesce(c.reserved, 0) as held_reserved,
           il.allocated, coalesce(h.allocated, 0) as held_allocated
    from inventory_levels il
    left join held h on h.variant_id = il.variant_id and h.location_id = il.location_id
    left join checkout c on c.variant_id = il.variant_id and c.location_id = il.location_id
    join variants v on v.id = il.variant_id join locations l on l.id = il.location_id
    where il.reserved <> coalesce(h.reserved, 0) + coalesce(c.reserved, 0)
       or il.allocated <> coalesce(h.allocated, 0)
    order by v.sku, l.code`.execute(db);
  const lines = await sql<LineDrift>`
    select o.number as order, l.line_no, l.sku, l.quantity,
      (l.cancelled + l.backordered + l.dropship + coalesce((select sum((a.reserved + a.allocated + a.shipped) / a.per_unit)
        from order_allocations a where a.line_id = l.id and a.counts_units), 0))::int as accounted
    from order_lines l join orders o on o.id = l.order_id
    where l.kind <> 'digital'
      and l.quantity <> l.cancelled + l.backordered + l.dropship + coalesce((select sum((a.reserved + a.allocated + a.shipped) / a.per_unit)
        from order_allocations a where a.line_id = l.id and a.counts_units), 0)
    order by o.id, l.line_no`.execute(db);
  return { levels: levels.rows, lines: lines.rows };
}
