import { sql } from "kysely";
import type { Tx } from "../db/tx.js";

/**
 * A consistent reading of on_hand and the ledger position for variants at a
 * location. The level rows are locked FOR SHARE first — which waits for any
 * transaction changing them to commit and keeps new changes out until ours
 * commits — and only then read in a fresh statement, so every ledger row up
 * to the returned id is included in on_hand and every later movement of that
 * SKU × location has a larger id.
 */
export async function readLedgerPosition(
  tx: Tx,
  locationId: number,
  variantIds: number[],
): Promise<Map<number, { onHand: number; lastMovement: number }>> {
  if (variantIds.length === 0) return new Map();
  const ids = [...new Set(variantIds)].sort((a, b) => a - b);
  await sql`select 1 from inventory_levels where location_id = ${locationId} and variant_id = any(${ids}::bigint[])
            order by variant_id for share`.execute(tx);
  const rows = await sql<{ variant_id: number; on_hand: number; last_movement: number }>`
    select v.id as variant_id, coalesce(il.on_hand, 0) as on_hand,
      coalesce((select max(m.id) from inventory_movements m
                where m.variant_id = v.id and m.location_id = ${locationId}), 0) as last_movement
    from unnest(${ids}::bigint[]) as v(id)
    left join inventory_levels il on il.variant_id = v.id and il.location_id = ${locationId}`.execute(tx);
  return new Map(rows.rows.map((r) => [r.variant_id, { onHand: r.on_hand, lastMovement: r.last_movement }]));
}
