import { sql } from "kysely";
import type { DB } from "../db/pool.js";

/**
 * Inventory record accuracy per location, from approved counts: the share of
 * counted lines whose record was right (zero variance), and the same weighted
 * by value (each line weighs max(expected, counted) × unit cost), with the
 * absolute and net variance value.
 */
export interface AccuracyRow {
  location: string;
  counts: number;
  lines_counted: number;
  lines_accurate: number;
  accuracy: number | null;
  value_counted: number;
  value_accurate: number;
  value_accuracy: number | null;
  variance_value_abs: number;
  variance_value_net: number;
  last_counted_at: string | null;
}

export async function inventoryAccuracy(
  db: DB,
  q: { location?: string; from?: string; to?: string },
): Promise<AccuracyRow[]> {
  const rows = await sql<
    Omit<AccuracyRow, "accuracy" | "value_accuracy" | "last_counted_at"> & { last: Date | null }
  >`
    with lines as (
      select cs.location_id, cs.id as count_id, cs.ended_at, cl.variance, coalesce(cl.variance_value, 0) as variance_value,
        round(greatest(cl.corrected_expected, cl.counted) * coalesce(cl.unit_cost, 0))::bigint as weight
      from count_sessions cs join count_lines cl on cl.count_id = cs.id
      where cs.status = 'approved' and cl.variance is not null
        ${q.from ? sql`and cs.ended_at >= ${q.from}::timestamptz` : sql``}
        ${q.to ? sql`and cs.ended_at < ${q.to}::timestamptz` : sql``}
    )
    select l.code as location, count(distinct x.count_id)::int as counts, count(*)::int as lines_counted,
      count(*) filter (where x.variance = 0)::int as lines_accurate,
      coalesce(sum(x.weight), 0)::bigint as value_counted,
      coalesce(sum(x.weight) filter (where x.variance = 0), 0)::bigint as value_accurate,
      coalesce(sum(abs(x.variance_value)), 0)::bigint as variance_value_abs,
      coalesce(sum(x.variance_value), 0)::bigint as variance_value_net,
      max(x.ended_at) as last
    from lines x join locations l on l.id = x.location_id
    where true ${q.location ? sql`and l.code = ${q.location}` : sql``}
    group by l.code order by l.code`.execute(db);
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10000) / 10000 : null);
  return rows.rows.map(({ last, ...r }) => ({
    ...r,
    accuracy: ratio(r.lines_accurate, r.lines_counted),
    value_accuracy: ratio(r.value_accurate, r.value_counted),
    last_counted_at: last ? last.toISOString() : null,
  }));
}
