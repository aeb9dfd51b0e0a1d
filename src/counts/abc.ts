import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * ABC classes of the SKUs stocked at a location, by consumption value over
 * the last `days`: units sold there (ledger `sale` movements) × unit cost
 * (moving average, else the catalogue cost, else the price). Sorted by value,
 * SKUs that start within the first 80 % of the total are A, within 95 % B,
 * the rest — and everything that did not sell — C. A counts get counted most often.
 */
export type AbcClass = "A" | "B" | "C";

export interface AbcRow {
  variant_id: number;
  sku: string;
  units_sold: number;
  value: number;
  class: AbcClass;
}

export async function abcClasses(db: DB | Tx, locationId: number, days = 90): Promise<AbcRow[]> {
  const rows = await sql<Omit<AbcRow, "class">>`
    select v.id as variant_id, v.sku, coalesce(s.units, 0)::int as units_sold,
      round(coalesce(s.units, 0) * coalesce(c.avg_cost, v.cost::numeric, v.price::numeric))::bigint as value
    from inventory_levels il join variants v on v.id = il.variant_id
    left join variant_costs c on c.variant_id = v.id
    left join (select variant_id, -sum(delta) as units from inventory_movements
               where location_id = ${locationId} and reason = 'sale' and bucket = 'on_hand' and delta < 0
                 and created_at >= now() - make_interval(days => ${days})
               group by variant_id) s on s.variant_id = v.id
    where il.location_id = ${locationId} and v.kind = 'physical'
    order by value desc, v.sku`.execute(db);
  const classes = classifyAbc(rows.rows.map((r) => r.value));
  return rows.rows.map((r, i) => ({ ...r, class: classes[i] }));
}

/**
 * Classes for values sorted from highest to lowest: a value is A when the
 * values before it make up less than 80 % of the total, B below 95 %, else C;
 * a value of zero is always C.
 */
export function classifyAbc(sortedValues: number[]): AbcClass[] {
  const total = sortedValues.reduce((s, v) => s + Math.max(v, 0), 0);
  let before = 0;
  return sortedValues.map((v) => {
    const share = total > 0 ? before / total : 1;
    before += Math.max(v, 0);
    return v <= 0 ? "C" : share < 0.8 ? "A" : share < 0.95 ? "B" : "C";
  });
}
