import { sql } from "kysely";
import type { Bucket } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { Conflict, InsufficientStock, ValidationFailed } from "../http/errors.js";
import { stockArrived } from "./arrivals.js";
import { resolveLocations, resolveSkus, type StockItem } from "./refs.js";
import { changeStock, type Movement } from "./stock.js";

export type AdjustableBucket = "on_hand" | "quarantine" | "damaged" | "safety_stock";
export type MovableBucket = "on_hand" | "quarantine" | "damaged" | "return_pending";

export interface AdjustmentRequest {
  sku: string;
  location: string;
  delta?: number;
  set?: number;
  bucket?: AdjustableBucket;
  reason: string;
  reference?: string;
  note?: string;
}

export interface MoveRequest {
  sku: string;
  location: string;
  from: MovableBucket;
  to: MovableBucket;
  quantity: number;
  reason: string;
  reference?: string;
  note?: string;
}

/** Only reasons marked `manual` may be used by a person; the rest belong to Keel's own flows. */
async function checkManualReason(tx: Tx, reason: string): Promise<void> {
  const row = await tx
    .selectFrom("movement_reasons")
    .select("manual")
    .where("code", "=", reason)
    .executeTakeFirst();
  if (!row?.manual) {
    const manual = await tx
      .selectFrom("movement_reasons")
      .select("code")
      .where("manual", "=", true)
      .execute();
    throw new ValidationFailed([
      { path: "body.reason", message: `must be one of ${manual.map((r) => r.code).join(", ")}` },
    ]);
  }
}

async function stockedTarget(
  tx: Tx,
  sku: string,
  location: string,
): Promise<{ item: StockItem; locationId: number }> {
  const item = (await resolveSkus(tx, [{ sku, path: "body.sku" }])).get(sku)!;
  if (item.kind !== "physical") {
    throw new ValidationFailed([
      { path: "body.sku", message: `${sku} is a ${item.kind} product and has no stock of its own` },
    ]);
  }
  const loc = (await resolveLocations(tx, [{ code: location, path: "body.location" }])).get(location)!;
  return { item, locationId: loc.id };
}

/**
 * Changes one bucket by `delta`, or to the absolute `set`. A `set` of on_hand
 * never touches reserved or allocated and refuses a value below them.
 */
export async function adjustStock(tx: Tx, req: AdjustmentRequest, actor: string): Promise<Movement[]> {
  await checkManualReason(tx, req.reason);
  const { item, locationId } = await stockedTarget(tx, req.sku, req.location);
  const bucket: Bucket = req.bucket ?? "on_hand";
  let delta = req.delta ?? 0;
  if (req.set !== undefined) {
    const current = await sql<Record<string, number>>`
      select on_hand, reserved, allocated, safety_stock, quarantine, damaged from inventory_levels
      where variant_id = ${item.id} and location_id = ${locationId} for update`.execute(tx);
    const row = current.rows[0] ?? { on_hand: 0, reserved: 0, allocated: 0 };
    if (bucket === "on_hand" && req.set < row.reserved + row.allocated) {
      throw new Conflict(
        `on_hand of ${req.sku} at ${req.location} cannot be set to ${req.set}: ${row.reserved} reserved and ${row.allocated} allocated units are promised. Release or cancel those first.`,
        { committed: row.reserved + row.allocated },
      );
    }
    delta = req.set - (row[bucket] ?? 0);
  }
  if (delta === 0) return [];
  const result = await changeStock(
    tx,
    [
      {
        variantId: item.id,
        locationId,
        deltas: { [bucket]: delta },
        reason: req.reason,
        reference: req.reference ?? null,
        note: req.note ?? null,
      },
    ],
    { actor, guardFree: false },
  );
  if (result.refused.length) await refuse(tx, item, locationId, req.location, bucket, delta);
  if (bucket === "on_hand" && delta > 0) await stockArrived(tx, [{ variantId: item.id, locationId }]);
  return result.movements;
}

/** Moves units between buckets at one location, e.g. quarantine → on_hand after inspection. */
export async function moveStock(tx: Tx, req: MoveRequest, actor: string): Promise<Movement[]> {
  await checkManualReason(tx, req.reason);
  if (req.from === req.to)
    throw new ValidationFailed([{ path: "body.to", message: "must differ from `from`" }]);
  const { item, locationId } = await stockedTarget(tx, req.sku, req.location);
  const change = {
    variantId: item.id,
    locationId,
    reason: req.reason,
    reference: req.reference ?? null,
    note: req.note ?? null,
  };
  // Two changes, so the ledger shows both sides of the move.
  const result = await changeStock(
    tx,
    [
      { ...change, deltas: { [req.from]: -req.quantity } },
      { ...change, deltas: { [req.to]: req.quantity } },
    ],
    // taking units out of on_hand must not take promised or safety units
    { actor, guardFree: req.from === "on_hand" },
  );
  if (result.refused.length) await refuse(tx, item, locationId, req.location, req.from, -req.quantity);
  if (req.to === "on_hand") await stockArrived(tx, [{ variantId: item.id, locationId }]);
  return result.movements;
}

async function refuse(
  tx: Tx,
  item: StockItem,
  locationId: number,
  location: string,
  bucket: Bucket,
  delta: number,
): Promise<never> {
  const row = await sql<Record<string, number>>`
    select * from inventory_levels where variant_id = ${item.id} and location_id = ${locationId}`.execute(tx);
  const level = row.rows[0];
  const have = level?.[bucket] ?? 0;
  if (bucket === "on_hand" && level && have + delta >= 0) {
    throw new Conflict(
      `on_hand of ${item.sku} at ${location} cannot fall to ${have + delta}: ${level.reserved} reserved and ${level.allocated} allocated units are promised`,
    );
  }
  throw new InsufficientStock([{ sku: item.sku, requested: -delta, available: have, location }]);
}
