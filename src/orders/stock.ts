import { type RawBuilder, sql } from "kysely";
import type { DecisionReason } from "../db/schema.js";
import { jsonbArray } from "../db/statements.js";
import type { Tx } from "../db/tx.js";
import { InsufficientStock } from "../http/errors.js";
import { holdStock } from "../inventory/holds.js";
import type { Demand, FreeStock } from "../inventory/plan.js";
import type { LocationRef, StockItem } from "../inventory/refs.js";
import { changeStock, levelKey, type StockChange } from "../inventory/stock.js";
import { partsOf } from "./allocation/chain.js";

/**
 * An order's stock, kept in order_allocations beside the balances: every
 * change here is one changeStock/holdStock call plus the matching change of
 * the allocation counters, in the same transaction, so the counters always
 * add up to what the order holds in each bucket.
 */

export const orderRef = (orderId: number) => `order:${orderId}`;

/**
 * Locks the balance rows of these variants at every location, in (variant,
 * location) order like changeStock, and returns their free units. Called
 * after the order row is locked, so the lock order is order → stock always.
 */
export async function lockFree(tx: Tx, variantIds: number[]): Promise<FreeStock> {
  const ids = [...new Set(variantIds)];
  if (ids.length === 0) return new Map();
  const rows = await sql<{ variant_id: number; location_id: number; free: number }>`
    select variant_id, location_id, on_hand - reserved - allocated - safety_stock as free
    from inventory_levels where variant_id = any(${ids}::bigint[])
    order by variant_id, location_id for update`.execute(tx);
  return new Map(rows.rows.map((r) => [levelKey(r.variant_id, r.location_id), r.free]));
}

export const stockedVariantIds = (items: StockItem[]) =>
  items.flatMap((i) => (i.kind === "digital" ? [] : partsOf(i).map((p) => p.variantId)));

export interface LineHold {
  lineId: number;
  item: StockItem;
  location: LocationRef;
  units: number;
  reasons: DecisionReason[];
}

/**
 * Holds line units at fixed locations (all or nothing; InsufficientStock if
 * the guard refuses) and records them. `allocated` goes straight to the
 * allocated bucket, for orders whose stock is already committed.
 */
export async function holdLines(
  tx: Tx,
  orderId: number,
  holds: LineHold[],
  opts: { actor: string; bucket: "reserved" | "allocated" },
): Promise<void> {
  const wanted = holds.filter((h) => h.units > 0 && h.item.kind !== "digital");
  if (wanted.length === 0) return;
  const demands: Demand[] = wanted.map((h, index) => ({
    index,
    item: h.item,
    quantity: h.units,
    location: h.location,
  }));
  await holdStock(tx, demands, {
    actor: opts.actor,
    bucket: opts.bucket,
    reason: opts.bucket === "reserved" ? "reservation" : "allocation",
    reference: orderRef(orderId),
    locations: wanted.map((h) => h.location),
  });
  await recordHolds(tx, orderId, wanted, opts.bucket);
}

/** One order's part of placement's stock statement. */
export interface OrderTake {
  orderId: number;
  holds: LineHold[];
  /** A checkout reservation's units (already reserved), matched to lines. */
  handedOver: LineHold[];
  /** Whether the units go straight to allocated (the order's stock is committed at placement). */
  commit: boolean;
}

/** What an order takes: its stock changes, the stocked units and the counter rows to write. */
export interface Taken {
  changes: StockChange[];
  units: number;
  rows: HoldRow[];
}

/**
 * The changes for an order's holds: units into `reserved`, or with `commit`
 * straight into `allocated` (one `allocation` movement, as holdStock does for
 * later holds). A checkout reservation's units (`handedOver`) move from
 * reserved to allocated with them.
 */
export function planTake(t: OrderTake): Taken {
  const reference = orderRef(t.orderId);
  const parts = (h: LineHold) =>
    h.item.kind === "digital"
      ? []
      : partsOf(h.item).map((p) => ({
          variantId: p.variantId,
          locationId: h.location.id,
          q: h.units * p.quantity,
        }));
  // Units committed at once go straight to allocated: one movement, not a reservation and its allocation.
  const changes: StockChange[] = t.holds.flatMap(parts).map((x) => ({
    variantId: x.variantId,
    locationId: x.locationId,
    deltas: t.commit ? { allocated: x.q } : { reserved: x.q },
    reason: t.commit ? "allocation" : "reservation",
    reference,
  }));
  if (t.commit) {
    for (const x of t.handedOver.flatMap(parts)) {
      changes.push({
        variantId: x.variantId,
        locationId: x.locationId,
        deltas: { reserved: -x.q, allocated: x.q },
        reason: "allocation",
        reference,
      });
    }
  }
  const all = [...t.holds, ...t.handedOver];
  const units = all.flatMap(parts).reduce((s, x) => s + x.q, 0);
  return { changes, units, rows: holdRows(all) };
}

/**
 * Placement's holds for one order or a batch of them in one statement, on
 * rows the caller has locked (lockFree): every order's changes, its
 * allocation counters and whatever `also` holds. A refusal is
 * InsufficientStock: the caller's transaction rolls back, so nothing stays
 * held.
 */
export async function takeStock(
  tx: Tx,
  takes: { order: OrderTake; taken: Taken }[],
  opts: { actor: string; also?: RawBuilder<unknown>[] },
): Promise<void> {
  const counters = takes.flatMap(({ order, taken }) =>
    taken.rows.map((row) => ({
      orderId: order.orderId,
      row,
      bucket: order.commit ? ("allocated" as const) : ("reserved" as const),
    })),
  );
  const result = await changeStock(
    tx,
    takes.flatMap((t) => t.taken.changes),
    {
      actor: opts.actor,
      guardFree: true,
      also: [...(counters.length ? [recordHoldsSql(counters)] : []), ...(opts.also ?? [])],
      refusedOnly: true,
    },
  );
  if (result.refused.length) {
    throw new InsufficientStock(
      takes.flatMap(({ order }) =>
        order.holds.map((h) => ({
          sku: h.item.sku,
          requested: h.units,
          available: 0,
          location: h.location.code,
        })),
      ),
    );
  }
}

/** One allocation counter row: a line's units of one stocked variant at one location. */
export interface HoldRow {
  lineId: number;
  variantId: number;
  sku: string;
  location: LocationRef;
  perUnit: number;
  countsUnits: boolean;
  quantity: number;
  reasons: DecisionReason[];
}

/** Holds as counter rows: one per (line, variant, location), as an upsert may not touch a row twice. */
export function holdRows(holds: LineHold[]): HoldRow[] {
  const merged = new Map<string, LineHold>();
  for (const h of holds) {
    const key = `${h.lineId}:${h.location.id}`;
    const m = merged.get(key);
    if (m) merged.set(key, { ...m, units: m.units + h.units, reasons: [...m.reasons, ...h.reasons] });
    else merged.set(key, h);
  }
  return [...merged.values()].flatMap((h) =>
    partsOf(h.item).map((p, i) => ({
      lineId: h.lineId,
      variantId: p.variantId,
      sku: p.sku,
      location: h.location,
      perUnit: p.quantity,
      countsUnits: i === 0,
      quantity: h.units * p.quantity,
      reasons: h.reasons,
    })),
  );
}

/** Adds held units to the allocation counters (creating rows as needed). */
export async function recordHolds(
  tx: Tx,
  orderId: number,
  holds: LineHold[],
  bucket: "reserved" | "allocated",
): Promise<void> {
  const rows = holdRows(holds);
  if (rows.length) await recordHoldsSql(rows.map((row) => ({ orderId, row, bucket }))).execute(tx);
}

function recordHoldsSql(counters: { orderId: number; row: HoldRow; bucket: "reserved" | "allocated" }[]) {
  const col = <K extends keyof HoldRow>(k: K) => counters.map((c) => c.row[k]);
  const held = (bucket: string) => counters.map((c) => (c.bucket === bucket ? c.row.quantity : 0));
  return sql`
    insert into order_allocations (order_id, line_id, variant_id, location_id, per_unit, counts_units,
                                   reserved, allocated, reasons)
    select * from unnest(${counters.map((c) => c.orderId)}::bigint[], ${col("lineId")}::bigint[],
      ${col("variantId")}::bigint[], ${counters.map((c) => c.row.location.id)}::bigint[], ${col("perUnit")}::int[],
      ${col("countsUnits")}::boolean[], ${held("reserved")}::int[], ${held("allocated")}::int[],
      ${jsonbArray(counters.map((c) => c.row.reasons))})
    on conflict (line_id, variant_id, location_id) do update set
      reserved = order_allocations.reserved + excluded.reserved,
      allocated = order_allocations.allocated + excluded.allocated,
      reasons = order_allocations.reasons || excluded.reasons,
      updated_at = now()`;
}

interface AllocationRow {
  id: number;
  variant_id: number;
  location_id: number;
  reserved: number;
  allocated: number;
}

function refusedIsABug(refused: string[], what: string): void {
  // the counters say these units are in the bucket; a refusal means they disagree
  if (refused.length)
    throw new Error(`${what} refused for ${refused.join(", ")}: allocations and balances disagree`);
}

/** Reserved → allocated for every unit the order holds (approval or payment, by setting). */
export async function commitOrderStock(tx: Tx, orderId: number, actor: string): Promise<number> {
  const rows = await sql<AllocationRow>`
    select id, variant_id, location_id, reserved, allocated from order_allocations
    where order_id = ${orderId} and reserved > 0 order by variant_id, location_id`.execute(tx);
  await sql`update orders set stock_committed_at = coalesce(stock_committed_at, now()) where id = ${orderId}`.execute(
    tx,
  );
  if (rows.rows.length === 0) return 0;
  const result = await changeStock(
    tx,
    rows.rows.map((r) => ({
      variantId: r.variant_id,
      locationId: r.location_id,
      deltas: { reserved: -r.reserved, allocated: r.reserved },
      reason: "allocation",
      reference: orderRef(orderId),
    })),
    { actor, guardFree: false },
  );
  refusedIsABug(result.refused, "allocation");
  await sql`update order_allocations set allocated = allocated + reserved, reserved = 0, updated_at = now()
            where id = any(${rows.rows.map((r) => r.id)}::bigint[])`.execute(tx);
  return rows.rows.reduce((s, r) => s + r.reserved, 0);
}

export interface Release {
  allocationId: number;
  variantId: number;
  locationId: number;
  reserved: number;
  allocated: number;
}

/** Gives held units back to free stock: `release` for reserved, `deallocation` for allocated. */
export async function releaseUnits(
  tx: Tx,
  orderId: number,
  releases: Release[],
  actor: string,
): Promise<void> {
  const changes: StockChange[] = releases.flatMap((r) => [
    ...(r.reserved > 0
      ? [
          {
            variantId: r.variantId,
            locationId: r.locationId,
            deltas: { reserved: -r.reserved },
            reason: "release",
            reference: orderRef(orderId),
          },
        ]
      : []),
    ...(r.allocated > 0
      ? [
          {
            variantId: r.variantId,
            locationId: r.locationId,
            deltas: { allocated: -r.allocated },
            reason: "deallocation",
            reference: orderRef(orderId),
          },
        ]
      : []),
  ]);
  if (changes.length === 0) return;
  const result = await changeStock(tx, changes, { actor, guardFree: false });
  refusedIsABug(result.refused, "release");
  const live = releases.filter((r) => r.reserved + r.allocated > 0);
  await sql`
    update order_allocations a set reserved = a.reserved - r.res, allocated = a.allocated - r.alloc,
      released = a.released + r.res + r.alloc, updated_at = now()
    from unnest(${live.map((r) => r.allocationId)}::bigint[], ${live.map((r) => r.reserved)}::int[],
                ${live.map((r) => r.allocated)}::int[]) as r(id, res, alloc)
    where a.id = r.id`.execute(tx);
}

/** Units leave the building: on_hand and allocated fall together, reason `sale`. */
export async function shipUnits(
  tx: Tx,
  orderId: number,
  lines: { allocationId: number; variantId: number; locationId: number; quantity: number }[],
  actor: string,
): Promise<void> {
  if (lines.length === 0) return;
  const result = await changeStock(
    tx,
    lines.map((l) => ({
      variantId: l.variantId,
      locationId: l.locationId,
      deltas: { on_hand: -l.quantity, allocated: -l.quantity },
      reason: "sale",
      reference: orderRef(orderId),
    })),
    { actor, guardFree: false },
  );
  refusedIsABug(result.refused, "shipment");
  await sql`
    update order_allocations a set allocated = a.allocated - r.q, shipped = a.shipped + r.q, updated_at = now()
    from unnest(${lines.map((l) => l.allocationId)}::bigint[], ${lines.map((l) => l.quantity)}::int[]) as r(id, q)
    where a.id = r.id`.execute(tx);
}
