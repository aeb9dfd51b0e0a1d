import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { InsufficientStock, type Shortfall } from "../http/errors.js";
import { type Demand, type FreeStock, type Hold, planHolds } from "./plan.js";
import type { LocationRef } from "./refs.js";
import { changeStock, levelKey } from "./stock.js";

export interface HoldOptions {
  actor: string;
  reason: string;
  reference: string | null;
  /** Bucket the held units go to: `reserved` for carts and unpaid orders, `allocated` for confirmed ones. */
  bucket: "reserved" | "allocated";
  /** Locations in the order to prefer them. */
  locations: LocationRef[];
}

/** Free units of these variants at every location, as of now (no lock). */
export async function readFree(tx: Tx, variantIds: number[]): Promise<FreeStock> {
  const rows = await sql<{ variant_id: number; location_id: number; free: number }>`
    select variant_id, location_id, on_hand - reserved - allocated - safety_stock as free
    from inventory_levels where variant_id = any(${[...new Set(variantIds)]}::bigint[])`.execute(tx);
  return new Map(rows.rows.map((r) => [levelKey(r.variant_id, r.location_id), r.free]));
}

function stockedVariantIds(demands: Demand[]): number[] {
  return demands.flatMap((d) =>
    d.item.kind === "bundle"
      ? d.item.components.map((c) => c.variantId)
      : d.item.kind === "digital"
        ? []
        : [d.item.id],
  );
}

function shortfallsOf(demands: Demand[], plan: ReturnType<typeof planHolds>): Shortfall[] {
  return plan.shortfalls.map((s) => {
    const d = demands.find((x) => x.index === s.index) as Demand;
    return { sku: d.item.sku, requested: s.requested, available: s.available, location: d.location?.code };
  });
}

/**
 * Holds every demand in full or nothing at all (InsufficientStock). Plans on
 * an unlocked read, then applies the plan with one guarded statement; if a
 * concurrent buyer took the stock first, the plan is refused and made again
 * from a fresh read. Several changed rows are applied under a savepoint so a
 * refused plan leaves nothing behind.
 */
export async function holdStock(tx: Tx, demands: Demand[], opts: HoldOptions): Promise<Hold[]> {
  const variantIds = stockedVariantIds(demands);
  if (variantIds.length === 0) return [];
  const fixed = demands.every((d) => d.location || d.item.kind === "digital");
  for (let attempt = 1; ; attempt++) {
    // With every location given there is nothing to choose: skip the read and let the guard decide.
    const free = fixed && attempt === 1 ? optimistic(demands) : await readFree(tx, variantIds);
    const plan = planHolds(demands, free, opts.locations);
    if (plan.shortfalls.length) throw new InsufficientStock(shortfallsOf(demands, plan));
    const rows = new Set(plan.holds.map((h) => levelKey(h.variantId, h.locationId)));
    const savepoint = rows.size > 1;
    if (savepoint) await sql`savepoint hold_stock`.execute(tx);
    const result = await changeStock(
      tx,
      plan.holds.map((h) => ({
        variantId: h.variantId,
        locationId: h.locationId,
        deltas: { [opts.bucket]: h.quantity },
        reason: opts.reason,
        reference: opts.reference,
      })),
      { actor: opts.actor, guardFree: true },
    );
    if (result.refused.length === 0) {
      if (savepoint) await sql`release savepoint hold_stock`.execute(tx);
      return plan.holds;
    }
    if (savepoint) await sql`rollback to savepoint hold_stock`.execute(tx);
    if (attempt >= 4) {
      const latest = planHolds(demands, await readFree(tx, variantIds), opts.locations);
      throw new InsufficientStock(
        latest.shortfalls.length
          ? shortfallsOf(demands, latest)
          : demands.map((d) => ({ sku: d.item.sku, requested: d.quantity, available: 0 })),
      );
    }
  }
}

/** A free-stock map that lets the plan through exactly as requested. */
function optimistic(demands: Demand[]): FreeStock {
  const free: FreeStock = new Map();
  for (const d of demands) {
    if (!d.location) continue;
    const parts = d.item.kind === "bundle" ? d.item.components : [{ variantId: d.item.id, quantity: 1 }];
    for (const p of parts) {
      const key = levelKey(p.variantId, d.location.id);
      free.set(key, (free.get(key) ?? 0) + p.quantity * d.quantity);
    }
  }
  return free;
}

/** Gives held units back: the exact inverse of the holds, each a `reason` movement. */
export async function releaseHolds(
  tx: Tx,
  holds: { variantId: number; locationId: number; quantity: number }[],
  opts: { actor: string; reason: string; reference: string | null; bucket: "reserved" | "allocated" },
): Promise<void> {
  if (holds.length === 0) return;
  const result = await changeStock(
    tx,
    holds.map((h) => ({
      variantId: h.variantId,
      locationId: h.locationId,
      deltas: { [opts.bucket]: -h.quantity },
      reason: opts.reason,
      reference: opts.reference,
    })),
    { actor: opts.actor, guardFree: false },
  );
  if (result.refused.length) {
    // a hold's units are always still in the bucket; anything else is a bug worth stopping for
    throw new Error(`release refused for ${result.refused.join(", ")}: hold and balance disagree`);
  }
}
