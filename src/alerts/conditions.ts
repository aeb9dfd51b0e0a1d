import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { AlertKind } from "../db/schema-reports.js";
import type { Tx } from "../db/tx.js";
import { checkLedger } from "../inventory/audit.js";

/** A condition that holds now: its key within the kind and what shows it. */
export interface Condition {
  key: string;
  evidence: Record<string, unknown>;
}

/**
 * What holds now, per kind the periodic evaluator watches. Evidence holds no
 * figure that moves by itself (an age, the time now), so a lasting condition
 * is not rewritten on every run.
 */
export const CONDITIONS: Partial<Record<AlertKind, (db: DB | Tx) => Promise<Condition[]>>> = {
  /** A stocked level at or below its SKU's low-stock threshold, but not empty. */
  async low_stock(db) {
    const r = await sql<Condition>`
      select v.sku || '@' || l.code as key,
        jsonb_build_object('sku', v.sku, 'location', l.code, 'available', il.available, 'on_hand', il.on_hand,
          'threshold', v.low_stock_threshold) as evidence
      from inventory_levels il join variants v on v.id = il.variant_id join products p on p.id = v.product_id
      join locations l on l.id = il.location_id
      where v.low_stock_threshold is not null and il.available > 0 and il.available <= v.low_stock_threshold
        and v.kind = 'physical' and p.status = 'active' and l.active`.execute(db);
    return r.rows;
  },

  /**
   * Nothing available of a SKU the shop means to keep at a location: one with
   * a low-stock threshold, a reorder rule there, or sales there in the last
   * 90 days.
   */
  async out_of_stock(db) {
    const r = await sql<Condition>`
      select v.sku || '@' || l.code as key,
        jsonb_build_object('sku', v.sku, 'location', l.code, 'available', il.available, 'on_hand', il.on_hand,
          'threshold', v.low_stock_threshold) as evidence
      from inventory_levels il join variants v on v.id = il.variant_id join products p on p.id = v.product_id
      join locations l on l.id = il.location_id
      where il.available = 0 and v.kind = 'physical' and p.status = 'active' and l.active
        and (v.low_stock_threshold is not null
          or exists (select 1 from reorder_rules r where r.variant_id = il.variant_id and r.location_id = il.location_id)
          or exists (select 1 from sales_last_day s where s.variant_id = il.variant_id and s.location_id = il.location_id
                     and s.last_day >= (now() at time zone 'UTC')::date - 90))`.execute(db);
    return r.rows;
  },

  /** An open order past its SLA due time. */
  async order_overdue(db) {
    const r = await sql<Condition>`
      select o.number as key,
        jsonb_build_object('order_id', o.id, 'number', o.number, 'status', o.status, 'channel', c.code,
          'placed_at', o.placed_at, 'sla_due_at', o.sla_due_at) as evidence
      from orders o join channels c on c.id = o.channel_id
      where o.sla_due_at < now()
        and o.status in ('received', 'on_hold', 'approved', 'backordered', 'preparing', 'partially_shipped')`.execute(
      db,
    );
    return r.rows;
  },

  /** Open integration failures of a source (and channel): one alert however many subjects fail. */
  async integration_failing(db) {
    const r = await sql<Condition>`
      select source || coalesce(':' || channel_code, '') as key,
        jsonb_build_object('source', source, 'channel', channel_code, 'open_failures', count(*),
          'oldest_at', min(first_at), 'operations', jsonb_agg(distinct operation)) as evidence
      from integration_failures where status = 'open'
      group by source, channel_code`.execute(db);
    return r.rows;
  },

  /** A submitted purchase order with units outstanding past their expected date. */
  async receipt_late(db) {
    const r = await sql<Condition>`
      select 'po:' || po.id as key,
        jsonb_build_object('purchase_order_id', po.id, 'supplier', s.code, 'location', l.code,
          'expected_date', min(coalesce(pl.expected_date, po.expected_date))::text,
          'units_outstanding', sum(pl.quantity - pl.received),
          'skus', jsonb_agg(v.sku order by v.sku)) as evidence
      from purchase_orders po join purchase_order_lines pl on pl.purchase_order_id = po.id
      join suppliers s on s.id = po.supplier_id join locations l on l.id = po.location_id
      join variants v on v.id = pl.variant_id
      where po.status in ('submitted', 'partially_received') and pl.received < pl.quantity
        and coalesce(pl.expected_date, po.expected_date) < (now() at time zone 'UTC')::date
      group by po.id, s.code, l.code`.execute(db);
    return r.rows;
  },
};

/**
 * A stock balance that its movements do not add up to (`keel doctor`'s
 * check). Reads the whole ledger, so only the nightly check runs it.
 */
export async function ledgerDrift(db: DB | Tx): Promise<Condition[]> {
  const drifts = await checkLedger(db as DB);
  return drifts.map((d) => ({
    key: `${d.sku}@${d.location}/${d.bucket}`,
    evidence: {
      sku: d.sku,
      location: d.location,
      bucket: d.bucket,
      balance: d.balance,
      ledger_sum: d.ledgerSum,
    },
  }));
}
