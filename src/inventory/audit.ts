import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Bucket } from "../db/schema.js";

/** A balance that the movement ledger does not add up to. */
export interface Drift {
  sku: string;
  location: string;
  bucket: Bucket;
  /** What inventory_levels says. */
  balance: number;
  /** What the sum of inventory_movements says. */
  ledgerSum: number;
}

/** A stock level that breaks a rule the database should already enforce. */
export interface Violation {
  sku: string;
  location: string;
  rule:
    | "negative_bucket"
    | "committed_exceeds_on_hand"
    | "holds_differ_from_buckets"
    | "order_line_unaccounted";
  detail: string;
}

/**
 * Recomputes every bucket of every stock level from the movement ledger and
 * returns where the two disagree, ordered by SKU, location and bucket. An
 * empty list means the balances are exactly the sum of their movements.
 * Ledger rows for a variant and location without a level row count against a
 * balance of 0.
 */
export async function checkLedger(db: DB): Promise<Drift[]> {
  const rows = await sql<{
    sku: string;
    location: string;
    bucket: Bucket;
    balance: number;
    ledger_sum: number;
  }>`
    with balance as (
      select l.variant_id, l.location_id, b.bucket, b.qty
      from inventory_levels l
      cross join lateral (values
        ('on_hand', l.on_hand), ('reserved', l.reserved), ('allocated', l.allocated),
        ('safety_stock', l.safety_stock), ('incoming', l.incoming), ('quarantine', l.quarantine),
        ('damaged', l.damaged), ('return_pending', l.return_pending)) as b(bucket, qty)
      where b.qty <> 0
    ), ledger as (
      select variant_id, location_id, bucket, sum(delta) as qty
      from inventory_movements
      group by variant_id, location_id, bucket
      having sum(delta) <> 0
    ), drift as (
      select coalesce(b.variant_id, g.variant_id) as variant_id,
             coalesce(b.location_id, g.location_id) as location_id,
             coalesce(b.bucket, g.bucket) as bucket,
             coalesce(b.qty, 0)::bigint as balance,
             coalesce(g.qty, 0)::bigint as ledger_sum
      from balance b
      full join ledger g
        on g.variant_id = b.variant_id and g.location_id = b.location_id and g.bucket = b.bucket
      where coalesce(b.qty, 0) <> coalesce(g.qty, 0)
    )
    select v.sku, loc.code as location, d.bucket, d.balance, d.ledger_sum
    from drift d
    join variants v on v.id = d.variant_id
    join locations loc on loc.id = d.location_id
    order by v.sku, loc.code, d.bucket`.execute(db);
  return rows.rows.map((r) => ({
    sku: r.sku,
    location: r.location,
    bucket: r.bucket,
    balance: Number(r.balance),
    ledgerSum: Number(r.ledger_sum),
  }));
}

/**
 * Stock levels with a negative bucket or with more reserved + allocated than
 * on hand. The CHECK constraints forbid both; this catches a constraint that
 * was dropped or never validated.
 */
export async function checkInvariants(db: DB): Promise<Violation[]> {
  const rows = await sql<{
    sku: string;
    location: string;
    on_hand: number;
    reserved: number;
    allocated: number;
    negative: string | null;
  }>`
    select v.sku, loc.code as location, l.on_hand, l.reserved, l.allocated,
      nullif(concat_ws(', ',
        case when l.on_hand < 0 then 'on_hand ' || l.on_hand end,
        case when l.reserved < 0 then 'reserved ' || l.reserved end,
        case when l.allocated < 0 then 'allocated ' || l.allocated end,
        case when l.safety_stock < 0 then 'safety_stock ' || l.safety_stock end,
        case when l.incoming < 0 then 'incoming ' || l.incoming end,
        case when l.quarantine < 0 then 'quarantine ' || l.quarantine end,
        case when l.damaged < 0 then 'damaged ' || l.damaged end,
        case when l.return_pending < 0 then 'return_pending ' || l.return_pending end), '') as negative
    from inventory_levels l
    join variants v on v.id = l.variant_id
    join locations loc on loc.id = l.location_id
    where least(l.on_hand, l.reserved, l.allocated, l.safety_stock, l.incoming, l.quarantine, l.damaged,
                l.return_pending) < 0
       or l.on_hand < l.reserved + l.allocated
    order by v.sku, loc.code`.execute(db);
  const violations: Violation[] = [];
  for (const r of rows.rows) {
    if (r.negative) {
      violations.push({ sku: r.sku, location: r.location, rule: "negative_bucket", detail: r.negative });
    }
    if (r.on_hand < r.reserved + r.allocated) {
      violations.push({
        sku: r.sku,
        location: r.location,
        rule: "committed_exceeds_on_hand",
        detail: `reserved ${r.reserved} + allocated ${r.allocated} > on_hand ${r.on_hand}`,
      });
    }
  }
  return violations;
}

/** Every ledger drift and rule violation; empty when the stock record is sound (what tests assert). */
export async function auditLedger(db: DB): Promise<(Drift | Violation)[]> {
  return [...(await checkLedger(db)), ...(await checkInvariants(db))];
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
