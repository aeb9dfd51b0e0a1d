import { type RawBuilder, sql } from "kysely";
import type { Bucket } from "../db/schema.js";
import { BUCKETS } from "../db/schema.js";
import { alsoCtes, runAsOne } from "../db/statements.js";
import type { Tx } from "../db/tx.js";

/**
 * The one way stock changes. Every balance change is a row update of
 * inventory_levels and ledger rows in inventory_movements, written by one SQL
 * statement, so the ledger always equals the balances.
 */

export type Deltas = Partial<Record<Bucket, number>>;

export interface StockChange {
  variantId: number;
  locationId: number;
  deltas: Deltas;
  reason: string;
  reference?: string | null;
  note?: string | null;
}

export interface LevelRow {
  variant_id: number;
  location_id: number;
  on_hand: number;
  reserved: number;
  allocated: number;
  safety_stock: number;
  incoming: number;
  quarantine: number;
  damaged: number;
  return_pending: number;
  available: number;
}

export interface ChangeOptions {
  actor: string;
  /**
   * Refuse a row whose change takes free units (on_hand − reserved − allocated
   * − safety_stock) below zero. On for anything that sells or holds stock; off
   * for recording physical facts (a loss must be recordable even if it eats
   * into safety stock). Moving units between holds never fails this guard.
   */
  guardFree: boolean;
  /**
   * Further data-modifying statements (the caller's own records of the same
   * change) sent in this one statement, so they cost no round trip of their
   * own. They run whatever the guard decides: a caller that refuses on
   * `refused` throws, and its transaction undoes them.
   */
  also?: RawBuilder<unknown>[];
  /** Leave `rows` and `movements` empty: the caller needs only `refused` (spares building and parsing them). */
  refusedOnly?: boolean;
}

export interface Movement {
  id: number;
  variant_id: number;
  location_id: number;
  bucket: Bucket;
  delta: number;
  reason: string;
  reference: string | null;
  actor: string;
  note: string | null;
  created_at: string;
}

export interface ChangeResult {
  /** Rows after the change, for every (variant, location) that changed. */
  rows: LevelRow[];
  /** The ledger rows written, in the order of the changes. */
  movements: Movement[];
  /** Keys `variantId:locationId` whose change was refused; nothing was written for them. */
  refused: string[];
}

/** Buckets whose increase may bring a level row into existence. */
const CREATING: Bucket[] = ["on_hand", "safety_stock", "incoming", "quarantine", "damaged", "return_pending"];

/**
 * The `inventory.level_changed` events of the level rows in CTE `rows` (the
 * bucket columns as changed), one per row in (variant, location) order: the
 * buckets, the SKU, the location code and the bundles the variant is part of.
 * Joined set-wise rather than through the inventory_level_event function,
 * whose call per row cost placement ~0.1 ms per order.
 */
export function levelEvents(rows: string): RawBuilder<unknown> {
  const r = sql.raw(rows);
  return sql`select 'inventory.level_changed', (to_jsonb(${r}) - 'variant_id' - 'location_id' - 'updated_at')
      || jsonb_build_object('sku', v.sku, 'location', loc.code,
        'bundles', (select coalesce(jsonb_agg(bv.sku), '[]') from bundle_components bc
                    join variants bv on bv.product_id = bc.product_id
                    where bc.component_variant_id = ${r}.variant_id))
    from ${r} join variants v on v.id = ${r}.variant_id join locations loc on loc.id = ${r}.location_id
    order by ${r}.variant_id, ${r}.location_id`;
}

export const levelKey = (variantId: number, locationId: number) => `${variantId}:${locationId}`;

/**
 * Applies the changes as one statement: rows are locked in (variant,
 * location) order, so concurrent multi-row changes cannot deadlock; each row is updated only when every bucket stays ≥ 0,
 * on_hand stays ≥ reserved + allocated and (with guardFree) free stock stays
 * ≥ 0; a ledger row per movement and an inventory.level_changed event per row
 * are inserted from the rows actually changed.
 *
 * A refused row is reported, not thrown: the caller decides (all-or-nothing
 * callers throw, which rolls back their transaction and so every other row).
 */
export async function changeStock(
  tx: Tx,
  changes: StockChange[],
  opts: ChangeOptions,
): Promise<ChangeResult> {
  const merged = new Map<string, { variantId: number; locationId: number; d: Record<Bucket, number> }>();
  for (const c of changes) {
    const key = levelKey(c.variantId, c.locationId);
    let m = merged.get(key);
    if (!m) {
      m = { variantId: c.variantId, locationId: c.locationId, d: zeroDeltas() };
      merged.set(key, m);
    }
    for (const b of BUCKETS) {
      const v = c.deltas[b];
      if (v !== undefined) {
        if (!Number.isInteger(v)) throw new Error(`delta for ${b} must be an integer`);
        m.d[b] += v;
      }
    }
  }
  const levels = [...merged.values()].sort(
    (a, b) => a.variantId - b.variantId || a.locationId - b.locationId,
  );
  const moves = changes.flatMap((c) =>
    BUCKETS.filter((b) => (c.deltas[b] ?? 0) !== 0).map((b) => ({
      c,
      bucket: b,
      delta: c.deltas[b] as number,
    })),
  );
  if (levels.length === 0) {
    await runAsOne(tx, opts.also ?? []);
    return { rows: [], movements: [], refused: [] };
  }

  const col = (b: Bucket) => levels.map((l) => l.d[b]);
  // free units after the change must stay >= 0, unless the change does not reduce them
  const freeGuard = opts.guardFree
    ? sql`and ((r.on_hand - r.reserved - r.allocated - r.safety_stock) >= 0
           or (l.on_hand + r.on_hand) - (l.reserved + r.reserved)
              - (l.allocated + r.allocated) - (l.safety_stock + r.safety_stock) >= 0)`
    : sql``;

  // Rows are created only for changes that bring units in; a change that only
  // takes or holds units needs a row that already has them.
  const creating = levels.filter((l) => CREATING.some((b) => l.d[b] > 0));
  if (creating.length) {
    await sql`
      insert into inventory_levels (variant_id, location_id)
      select * from unnest(${creating.map((l) => l.variantId)}::bigint[], ${creating.map((l) => l.locationId)}::bigint[])
      order by 1, 2
      on conflict do nothing`.execute(tx);
  }

  const result = await sql<{ rows: LevelRow[]; movements: Movement[] }>`
    with r as (
      select * from unnest(
        ${levels.map((l) => l.variantId)}::bigint[], ${levels.map((l) => l.locationId)}::bigint[],
        ${col("on_hand")}::int[], ${col("reserved")}::int[], ${col("allocated")}::int[], ${col("safety_stock")}::int[],
        ${col("incoming")}::int[], ${col("quarantine")}::int[], ${col("damaged")}::int[], ${col("return_pending")}::int[]
      ) as r(variant_id, location_id, on_hand, reserved, allocated, safety_stock, incoming, quarantine, damaged, return_pending)
    ),
    -- every row is locked here, in (variant, location) order, before any is changed
    locked as materialized (
      select l.variant_id, l.location_id from inventory_levels l
      join r on r.variant_id = l.variant_id and r.location_id = l.location_id
      order by l.variant_id, l.location_id
      for update of l
    ),
    up as (
      update inventory_levels l set
        on_hand = l.on_hand + r.on_hand,
        reserved = l.reserved + r.reserved,
        allocated = l.allocated + r.allocated,
        safety_stock = l.safety_stock + r.safety_stock,
        incoming = l.incoming + r.incoming,
        quarantine = l.quarantine + r.quarantine,
        damaged = l.damaged + r.damaged,
        return_pending = l.return_pending + r.return_pending,
        updated_at = now()
      from r join locked k on k.variant_id = r.variant_id and k.location_id = r.location_id
      where l.variant_id = r.variant_id and l.location_id = r.location_id
        and l.on_hand + r.on_hand >= 0 and l.reserved + r.reserved >= 0
        and l.allocated + r.allocated >= 0 and l.safety_stock + r.safety_stock >= 0
        and l.incoming + r.incoming >= 0 and l.quarantine + r.quarantine >= 0
        and l.damaged + r.damaged >= 0 and l.return_pending + r.return_pending >= 0
        and l.on_hand + r.on_hand >= (l.reserved + r.reserved) + (l.allocated + r.allocated)
        ${freeGuard}
      returning l.variant_id, l.location_id, l.on_hand, l.reserved, l.allocated, l.safety_stock, l.incoming,
                l.quarantine, l.damaged, l.return_pending, l.available
    ),
    m as (
      select * from unnest(
        ${moves.map((m) => m.c.variantId)}::bigint[], ${moves.map((m) => m.c.locationId)}::bigint[],
        ${moves.map((m) => m.bucket)}::text[], ${moves.map((m) => m.delta)}::int[],
        ${moves.map((m) => m.c.reason)}::text[], ${moves.map((m) => m.c.reference ?? null)}::text[],
        ${moves.map((m) => m.c.note ?? null)}::text[]
      ) with ordinality as m(variant_id, location_id, bucket, delta, reason, reference, note, n)
    ),
    ledger as (
      insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor, note)
      select m.variant_id, m.location_id, m.bucket, m.delta, m.reason, m.reference, ${opts.actor}, m.note
      from m join up on up.variant_id = m.variant_id and up.location_id = m.location_id
      order by m.n
      returning *
    ),
    events as (
      insert into outbox_events (type, payload)
      ${levelEvents("up")}
    )${alsoCtes(opts.also ?? [])}
    ${
      opts.refusedOnly
        ? sql`select coalesce((select json_agg(json_build_object('variant_id', up.variant_id, 'location_id', up.location_id))
                 from up), '[]') as rows, '[]'::json as movements`
        : sql`select coalesce((select json_agg(up) from up), '[]') as rows,
                coalesce((select json_agg(ledger order by ledger.id) from ledger), '[]') as movements`
    }`.execute(tx);

  const { rows, movements } = result.rows[0];
  const changed = new Set(rows.map((row) => levelKey(row.variant_id, row.location_id)));
  const refused = levels.map((l) => levelKey(l.variantId, l.locationId)).filter((k) => !changed.has(k));
  return { rows: opts.refusedOnly ? [] : rows, movements, refused };
}

function zeroDeltas(): Record<Bucket, number> {
  return {
    on_hand: 0,
    reserved: 0,
    allocated: 0,
    safety_stock: 0,
    incoming: 0,
    quarantine: 0,
    damaged: 0,
    return_pending: 0,
  };
}
