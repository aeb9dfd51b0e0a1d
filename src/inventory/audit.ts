import { sql } from "kysely";
import type { DB } from "../db/pool.js";

export interface Drift {
  sku: string;
  location: string;
  bucket: string;
  balance: number;
  ledger: number;
}

/**
 * Recomputes every balance from the movement ledger and returns each bucket
 * whose balance differs from its ledger sum (an empty list means none). Also
 * reports rows breaking the bucket invariants, as a drift of bucket
 * `invariant:<name>`, should a constraint ever have been disabled.
 */
export async function auditLedger(db: DB): Promise<Drift[]> {
  const drift = await sql<Drift>`
    with ledger as (
      select variant_id, location_id, bucket, sum(delta)::bigint as total
      from inventory_movements group by variant_id, location_id, bucket
    ),
    balances as (
      select il.variant_id, il.location_id, b.bucket, b.balance
      from inventory_levels il
      cross join lateral (values ('on_hand', il.on_hand), ('reserved', il.reserved), ('allocated', il.allocated),
        ('safety_stock', il.safety_stock), ('incoming', il.incoming), ('quarantine', il.quarantine),
        ('damaged', il.damaged), ('return_pending', il.return_pending)) as b(bucket, balance)
    )
    select v.sku, l.code as location, coalesce(b.bucket, g.bucket) as bucket,
           coalesce(b.balance, 0)::int as balance, coalesce(g.total, 0)::int as ledger
    from balances b
    full join ledger g on g.variant_id = b.variant_id and g.location_id = b.location_id and g.bucket = b.bucket
    join variants v on v.id = coalesce(b.variant_id, g.variant_id)
    join locations l on l.id = coalesce(b.location_id, g.location_id)
    where coalesce(b.balance, 0) <> coalesce(g.total, 0)
    order by v.sku, l.code, 3`.execute(db);
  const broken = await sql<Drift>`
    select v.sku, l.code as location, 'invariant:committed_within_on_hand' as bucket,
           il.on_hand as balance, (il.reserved + il.allocated) as ledger
    from inventory_levels il join variants v on v.id = il.variant_id join locations l on l.id = il.location_id
    where il.on_hand < il.reserved + il.allocated
       or least(il.on_hand, il.reserved, il.allocated, il.safety_stock, il.incoming, il.quarantine, il.damaged,
                il.return_pending) < 0`.execute(db);
  return [...drift.rows, ...broken.rows];
}

/**
 * Active reservations must account for exactly the reserved units they hold
 * (orders add their own holds; this checks reservation holds alone never
 * exceed the bucket).
 */
export async function reservationsWithinReserved(
  db: DB,
): Promise<{ sku: string; location: string; held: number; reserved: number }[]> {
  const rows = await sql<{ sku: string; location: string; held: number; reserved: number }>`
    select v.sku, l.code as location, h.held::int, il.reserved
    from (select rl.variant_id, rl.location_id, sum(rl.quantity) as held
          from reservation_lines rl join reservations r on r.id = rl.reservation_id
          where r.status = 'active' group by 1, 2) h
    join inventory_levels il on il.variant_id = h.variant_id and il.location_id = h.location_id
    join variants v on v.id = h.variant_id join locations l on l.id = h.location_id
    where h.held > il.reserved`.execute(db);
  return rows.rows;
}
