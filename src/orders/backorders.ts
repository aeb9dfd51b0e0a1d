import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { inTransaction, type Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { InsufficientStock } from "../http/errors.js";
import { onStockArrival } from "../inventory/arrivals.js";
import { readFree } from "../inventory/holds.js";
import { allLocations, type LocationRef, resolveSkus } from "../inventory/refs.js";
import { levelKey } from "../inventory/stock.js";
import { partsOf, unitsAt } from "./allocation/chain.js";
import { settle } from "./core.js";
import { type OrderSettings, readOrderSettings } from "./settings.js";
import { holdLines, stockedVariantIds } from "./stock.js";
import { record } from "./transitions.js";

/**
 * Backorders fill themselves, first placed first, whenever stock becomes
 * free at a location: an adjustment up, a transfer or purchase receipt, a
 * restocked return (all announced through onStockArrival inside their own
 * transaction), or units an order cancellation gives back. The units are held
 * at the location where they arrived.
 *
 * Race-free: waiting orders are locked in placement order with SKIP LOCKED,
 * so a fill never waits for an order another transaction is changing (that
 * transaction may itself be waiting for the stock row this one holds). An
 * order skipped that way is picked up by the next arrival or by the sweep job
 * (`sweepBackorders`, in src/jobs.ts), which runs every minute.
 */

const MAX_ORDERS_PER_LOCATION = 500;

interface Waiting {
  id: number;
  number: string;
  placed_at: Date;
  stock_committed_at: Date | null;
  allow_split: boolean;
}

export async function fillBackorders(
  tx: Tx,
  arrived: { variantId: number; locationId: number }[],
  opts: { actor?: string; exceptOrder?: number } = {},
): Promise<number> {
  const byLocation = new Map<number, Set<number>>();
  for (const a of arrived) {
    const set = byLocation.get(a.locationId) ?? new Set<number>();
    set.add(a.variantId);
    byLocation.set(a.locationId, set);
  }
  if (byLocation.size === 0) return 0;
  const actor = opts.actor ?? "system:backorders";
  let filled = 0;
  let locations: LocationRef[] | undefined;
  let settings: OrderSettings | undefined;
  for (const [locationId, variants] of byLocation) {
    const ids = [...variants];
    let after: [Date, number] = [new Date(0), 0];
    // one waiting order at a time, in placement order, while the arrived stock lasts
    for (let n = 0; n < MAX_ORDERS_PER_LOCATION && (await anyFree(tx, ids, locationId)); n++) {
      const next = await nextWaiting(tx, ids, after, opts.exceptOrder ?? 0);
      if (!next) break;
      after = [next.placed_at, next.id];
      locations ??= await allLocations(tx);
      const location = locations.find((l) => l.id === locationId);
      if (!location?.active) break;
      const units = await fillOrder(tx, next, location, actor);
      if (units === 0) continue;
      filled += units;
      settings ??= await readOrderSettings(tx);
      await announceFill(tx, next, location, units, actor);
      await settle(tx, next.id, settings, actor);
    }
  }
  return filled;
}

async function anyFree(tx: Tx, variantIds: number[], locationId: number): Promise<boolean> {
  const r = await sql`
    select 1 from inventory_levels where location_id = ${locationId} and variant_id = any(${variantIds}::bigint[])
      and on_hand - reserved - allocated - safety_stock > 0 limit 1`.execute(tx);
  return r.rows.length > 0;
}

/**
 * The first order after `after` (placement order) with a backordered line
 * for one of these variants, or a bundle made of them. SKIP LOCKED: an order
 * another transaction is changing is passed over rather than waited for.
 */
async function nextWaiting(
  tx: Tx,
  ids: number[],
  after: [Date, number],
  except: number,
): Promise<Waiting | undefined> {
  const r = await sql<Waiting>`
    select o.id, o.number, o.placed_at, o.stock_committed_at,
      coalesce((c.config ->> 'allow_split')::boolean, true) as allow_split
    from orders o join channels c on c.id = o.channel_id
    where o.id in (
        select l.order_id from order_lines l
        where l.backordered > 0
          and (l.variant_id = any(${ids}::bigint[])
               or (l.kind = 'bundle' and exists (
                 select 1 from variants bv join bundle_components bc on bc.product_id = bv.product_id
                 where bv.id = l.variant_id and bc.component_variant_id = any(${ids}::bigint[])))))
      and o.status not in ('cancelled', 'completed', 'shipped')
      and o.id <> ${except}
      and (o.placed_at, o.id) > (${after[0]}, ${after[1]})
    order by o.placed_at, o.id
    limit 1
    for update of o skip locked`.execute(tx);
  return r.rows[0];
}

async function announceFill(tx: Tx, order: Waiting, location: LocationRef, units: number, actor: string) {
  const { status } = await tx
    .selectFrom("orders")
    .select("status")
    .where("id", "=", order.id)
    .executeTakeFirstOrThrow();
  await record(tx, order.id, {
    from: status,
    to: status,
    action: "backorder_fill",
    actor,
    reason: `${units} backordered units held at ${location.code}`,
  });
  await emit(tx, [
    {
      type: "order.stock_held",
      payload: { id: order.id, number: order.number, location: location.code, units },
    },
  ]);
}

/** Holds what the location has for one order's backordered lines; returns the line units held. */
async function fillOrder(tx: Tx, order: Waiting, location: LocationRef, actor: string): Promise<number> {
  if (!order.allow_split) {
    // an order that ships whole waits for stock where the rest of it is
    const elsewhere = await sql`
      select 1 from order_allocations where order_id = ${order.id} and location_id <> ${location.id}
        and reserved + allocated + shipped > 0 limit 1`.execute(tx);
    if (elsewhere.rows.length) return 0;
  }
  const lines = await tx
    .selectFrom("order_lines")
    .select(["id", "line_no", "sku", "backordered"])
    .where("order_id", "=", order.id)
    .where("backordered", ">", 0)
    .orderBy("line_no")
    .execute();
  const items = await resolveSkus(
    tx,
    lines.map((l) => ({ sku: l.sku, path: "line" })),
  );
  const free = await readFree(tx, stockedVariantIds([...items.values()]));
  let held = 0;
  for (const line of lines) {
    const item = items.get(line.sku)!;
    const units = Math.min(line.backordered, unitsAt(free, item, location.id));
    if (units <= 0) continue;
    try {
      await holdLines(
        tx,
        order.id,
        [
          {
            lineId: line.id,
            item,
            location,
            units,
            reasons: [
              {
                rule: "backorder_fill",
                detail: `stock arrived at ${location.code}; first placed, first served`,
              },
            ],
          },
        ],
        { actor, bucket: order.stock_committed_at ? "allocated" : "reserved" },
      );
    } catch (err) {
      if (err instanceof InsufficientStock) continue; // taken concurrently; the next arrival or sweep retries
      throw err;
    }
    for (const p of partsOf(item)) {
      const key = levelKey(p.variantId, location.id);
      free.set(key, (free.get(key) ?? 0) - units * p.quantity);
    }
    await sql`update order_lines set backordered = backordered - ${units} where id = ${line.id}`.execute(tx);
    held += units;
  }
  return held;
}

/** Fills backorders wherever free stock waits for them (what an arrival skipped). */
export async function sweepBackorders(db: DB): Promise<number> {
  return inTransaction(db, async (tx) => {
    const pairs = await sql<{ variant_id: number; location_id: number }>`
      with waiting as (
        select l.variant_id from order_lines l where l.backordered > 0 and l.kind = 'physical'
        union
        select bc.component_variant_id from order_lines l join variants bv on bv.id = l.variant_id
          join bundle_components bc on bc.product_id = bv.product_id
        where l.backordered > 0 and l.kind = 'bundle'
      )
      select il.variant_id, il.location_id from inventory_levels il
      join waiting w on w.variant_id = il.variant_id
      join locations loc on loc.id = il.location_id and loc.active
      where il.on_hand - il.reserved - il.allocated - il.safety_stock > 0
      order by il.variant_id, il.location_id limit 1000`.execute(tx);
    return fillBackorders(
      tx,
      pairs.rows.map((p) => ({ variantId: p.variant_id, locationId: p.location_id })),
      { actor: "system:backorder-sweep" },
    );
  });
}

let listening = false;

/**
 * Lets backorders take stock as it arrives (in the arriving transaction).
 * Called where the app is assembled; calling it again changes nothing.
 */
export function fillBackordersOnArrival(): void {
  if (listening) return;
  listening = true;
  onStockArrival(async (tx, arrived) => {
    await fillBackorders(tx, arrived);
  });
}
