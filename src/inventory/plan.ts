import type { LocationRef, StockItem } from "./refs.js";
import { levelKey } from "./stock.js";

/**
 * Deciding where units come from, as a pure function of the free stock seen:
 * the database still has the last word (the guarded update), so a plan made on
 * a stale read can only be refused, never oversell.
 */

export interface Demand {
  /** Position in the caller's list, carried into holds and shortfalls. */
  index: number;
  item: StockItem;
  quantity: number;
  /** Take only from here. */
  location?: LocationRef;
}

export interface Hold {
  index: number;
  variantId: number;
  locationId: number;
  quantity: number;
  /** Set when the units are components held for a bundle line. */
  bundleVariantId: number | null;
  /** Bundle units this hold belongs to (equals quantity for plain lines). */
  units: number;
}

export interface PlanShortfall {
  index: number;
  requested: number;
  planned: number;
  /** What the demand could have had on its own from the stock seen. */
  available: number;
}

export interface Plan {
  holds: Hold[];
  shortfalls: PlanShortfall[];
}

/** Free units per `variantId:locationId`, as read. */
export type FreeStock = Map<string, number>;

/**
 * Plans holds demand by demand. A line is served whole from the first
 * location (in the given preference order) that can; failing that it is split
 * over locations in that order. A bundle unit always comes from one location.
 * Digital lines need nothing. With `partial`, what cannot be held is reported
 * as a shortfall next to the holds that could be made.
 */
export function planHolds(demands: Demand[], free: FreeStock, locations: LocationRef[]): Plan {
  const left = new Map(free);
  const holds: Hold[] = [];
  const shortfalls: PlanShortfall[] = [];
  for (const d of demands) {
    if (d.item.kind === "digital") continue;
    const parts =
      d.item.kind === "bundle" ? d.item.components : [{ variantId: d.item.id, sku: d.item.sku, quantity: 1 }];
    const candidates = d.location ? [d.location] : locations.filter((l) => l.active);
    const unitsAt = (loc: LocationRef) =>
      Math.min(
        ...parts.map((p) =>
          Math.floor(Math.max(0, left.get(levelKey(p.variantId, loc.id)) ?? 0) / p.quantity),
        ),
      );
    const before = candidates.reduce((sum, loc) => sum + unitsAt(loc), 0);
    const whole = candidates.find((loc) => unitsAt(loc) >= d.quantity);
    const order = whole ? [whole] : candidates;
    let remaining = d.quantity;
    for (const loc of order) {
      if (remaining === 0) break;
      const take = Math.min(remaining, unitsAt(loc));
      if (take === 0) continue;
      for (const p of parts) {
        const key = levelKey(p.variantId, loc.id);
        left.set(key, (left.get(key) ?? 0) - take * p.quantity);
        holds.push({
          index: d.index,
          variantId: p.variantId,
          locationId: loc.id,
          quantity: take * p.quantity,
          bundleVariantId: d.item.kind === "bundle" ? d.item.id : null,
          units: take,
        });
      }
      remaining -= take;
    }
    if (remaining > 0) {
      shortfalls.push({
        index: d.index,
        requested: d.quantity,
        planned: d.quantity - remaining,
        available: before,
      });
    }
  }
  return { holds, shortfalls };
}
