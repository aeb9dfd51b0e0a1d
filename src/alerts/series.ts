import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { DEFAULT_ANOMALY, robustVerdict } from "./anomaly.js";
import type { Condition } from "./conditions.js";

/**
 * The daily series anomaly detection watches, each a count per UTC day:
 * orders placed per channel, orders cancelled per channel (by placement day),
 * units returned per SKU (returns requested; only SKUs with a return on the
 * day looked at are candidates) and manual stock adjustment volume (units
 * moved by manual reasons, either way) per location. The day looked at is
 * the last complete UTC day; the window is the `DEFAULT_ANOMALY.window` days
 * before it, missing days counting 0.
 */
interface Point {
  series: string;
  day: string;
  value: number;
}

export async function dailySeries(db: DB | Tx, day: string): Promise<Map<string, Map<string, number>>> {
  const from = sql`(${day}::date - ${DEFAULT_ANOMALY.window}::int)`;
  const start = sql`(${from}::timestamp at time zone 'UTC')`;
  const end = sql`((${day}::date + 1)::timestamp at time zone 'UTC')`;
  const r = await sql<Point>`
    select 'orders:channel=' || c.code as series, ((o.placed_at at time zone 'UTC')::date)::text as day, count(*)::int as value
    from orders o join channels c on c.id = o.channel_id
    where o.placed_at >= ${start} and o.placed_at < ${end} group by 1, 2
    union all
    select 'cancellations:channel=' || c.code, ((o.placed_at at time zone 'UTC')::date)::text, count(*)::int
    from orders o join channels c on c.id = o.channel_id
    where o.placed_at >= ${start} and o.placed_at < ${end} and o.status = 'cancelled' group by 1, 2
    union all
    select 'returns:sku=' || ol.sku, ((r.created_at at time zone 'UTC')::date)::text, sum(rl.quantity)::int
    from returns r join return_lines rl on rl.return_id = r.id join order_lines ol on ol.id = rl.order_line_id
    where r.created_at >= ${start} and r.created_at < ${end}
      and ol.sku in (select ol2.sku from returns r2 join return_lines rl2 on rl2.return_id = r2.id
                     join order_lines ol2 on ol2.id = rl2.order_line_id
                     where r2.created_at >= (${day}::date::timestamp at time zone 'UTC') and r2.created_at < ${end})
    group by 1, 2
    union all
    select 'adjustments:location=' || l.code, ((m.created_at at time zone 'UTC')::date)::text, sum(abs(m.delta))::int
    from inventory_movements m join movement_reasons mr on mr.code = m.reason and mr.manual
      join locations l on l.id = m.location_id
    where m.created_at >= ${start} and m.created_at < ${end} and m.bucket = 'on_hand' group by 1, 2`.execute(
    db,
  );
  const out = new Map<string, Map<string, number>>();
  for (const p of r.rows) {
    const s = out.get(p.series) ?? new Map<string, number>();
    s.set(p.day, p.value);
    out.set(p.series, s);
  }
  return out;
}

const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** The anomalies of `day` (default: yesterday, UTC): one condition per series whose value is outside its band. */
export async function anomalies(db: DB | Tx, day?: string): Promise<Condition[]> {
  const d = day ?? addDays(new Date().toISOString().slice(0, 10), -1);
  const weekday = new Date(`${d}T00:00:00Z`).getUTCDay();
  const out: Condition[] = [];
  for (const [series, values] of await dailySeries(db, d)) {
    const history: number[] = [];
    for (let i = DEFAULT_ANOMALY.window; i >= 1; i--) history.push(values.get(addDays(d, -i)) ?? 0);
    // a series that starts inside the window has no history before its first day
    const first = history.findIndex((v) => v > 0);
    const v = robustVerdict(first < 0 ? [] : history.slice(first), weekday, values.get(d) ?? 0);
    if (v?.anomalous) out.push({ key: series, evidence: { series, day: d, ...v } });
  }
  return out;
}
