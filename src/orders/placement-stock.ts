import { type RawBuilder, sql } from "kysely";
import type { DecisionReason } from "../db/schema.js";
import { jsonbArray } from "../db/statements.js";
import type { Tx } from "../db/tx.js";
import { InsufficientStock } from "../http/errors.js";
import { releaseHolds } from "../inventory/holds.js";
import type { FreeStock, Hold } from "../inventory/plan.js";
import type { LocationRef, StockItem } from "../inventory/refs.js";
import { consumeReservation } from "../inventory/reservations.js";
import { levelKey } from "../inventory/stock.js";
import { type LineNeed, partsOf, unitsAt } from "./allocation/chain.js";
import { allocate } from "./allocation/rules.js";
import {
  type HoldRow,
  type LineHold,
  lockFree,
  type OrderTake,
  planTake,
  stockedVariantIds,
  takeStock,
} from "./stock.js";

/** The stock side of placement: the checkout reservation, the allocation decision, the holds. */

export interface PlacedLine {
  lineId: number;
  lineNo: number;
  item: StockItem;
  quantity: number;
  title: string | null;
  unitPrice: number;
  /** The supplier code when a supplier drop-ships the line: it holds no stock (src/orders/dropship.ts). */
  dropship?: string;
}

/** Lines Keel ships from its own stock: not digital, not drop-shipped. */
const fromStock = (l: PlacedLine) => l.item.kind !== "digital" && !l.dropship;

/** What placement held: the counter rows, and per line number its backordered units and decision. */
export interface HeldStock {
  units: number;
  backordered: number;
  rows: HoldRow[];
  lines: Map<number, { backordered: number; decision: DecisionReason[] }>;
}

/**
 * Holds the order's stock: the checkout reservation's units first (the rest
 * of the reservation is released), then what the allocation chain decides on
 * free stock read under row locks (`free`, when the caller locked the rows
 * already). Backordered units are counted on the lines; units that can
 * neither be held nor wait refuse the whole order. The holds, the counters,
 * the order's lines (with the ids in `lines`) and their decisions, and
 * whatever `also` returns for the units held are one statement.
 */
export async function holdOrderStock(
  tx: Tx,
  orderId: number,
  lines: PlacedLine[],
  o: {
    actor: string;
    reservationId?: number;
    country: string;
    allowSplit: boolean;
    commit: boolean;
    locations: LocationRef[];
    free?: FreeStock;
    also?: (units: number) => RawBuilder<unknown>[];
  },
): Promise<HeldStock> {
  const stocked = lines.filter(fromStock);
  const reserved = o.reservationId ? await consumeReservation(tx, o.reservationId, o.actor) : [];
  const locations = o.locations;
  const free =
    o.free && reserved.length === 0
      ? new Map(o.free)
      : await lockFree(tx, [
          ...stockedVariantIds(stocked.map((l) => l.item)),
          ...reserved.map((h) => h.variantId),
        ]);
  const fromReservation = matchReservation(stocked, reserved, locations, o.reservationId ?? 0);
  const excess = fromReservation.excess;
  if (excess.length) {
    await releaseHolds(tx, excess, {
      actor: o.actor,
      reason: "release",
      reference: `reservation:${o.reservationId}`,
      bucket: "reserved",
    });
    for (const e of excess) {
      const key = levelKey(e.variantId, e.locationId);
      free.set(key, (free.get(key) ?? 0) + e.quantity);
    }
  }
  const covered = (lineId: number) =>
    fromReservation.holds.filter((h) => h.lineId === lineId).reduce((s, h) => s + h.units, 0);
  const decided = decideLines(lines, free, { ...o, covered });
  if ("shortfalls" in decided) throw decided.shortfalls;
  const order: OrderTake = {
    orderId,
    holds: decided.holds,
    handedOver: fromReservation.holds,
    commit: o.commit,
  };
  const taken = planTake(order);
  await takeStock(tx, [{ order, taken }], {
    actor: o.actor,
    also: [linesInsertSql([{ orderId, lines, decided: decided.lines }]), ...(o.also?.(taken.units) ?? [])],
  });
  return { units: taken.units, backordered: decided.backordered, rows: taken.rows, lines: decided.lines };
}

/** An order's allocation decision: the holds, and per line its backordered units and reasons. */
export interface Decided {
  holds: LineHold[];
  backordered: number;
  lines: HeldStock["lines"];
}

/**
 * Runs the allocation chain for an order's stocked lines on `free` (read
 * under row locks). Units no location can give and no line may wait for are
 * the refusal, returned for the caller to throw or set aside.
 */
export function decideLines(
  lines: PlacedLine[],
  free: FreeStock,
  o: {
    country: string;
    allowSplit: boolean;
    locations: LocationRef[];
    /** Units already covered (by a checkout reservation), by line id. */
    covered?: (lineId: number) => number;
  },
): Decided | { shortfalls: InsufficientStock } {
  const needs: LineNeed[] = lines
    .filter(fromStock)
    .map((l) => ({ lineNo: l.lineNo, item: l.item, units: l.quantity - (o.covered?.(l.lineId) ?? 0) }));
  const { locations } = o;
  const decision = allocate({ lines: needs, free, locations, country: o.country, allowSplit: o.allowSplit });
  if (decision.shortfalls.size)
    return { shortfalls: new InsufficientStock(shortfalls(lines, decision.shortfalls, free, locations)) };
  const byLineNo = new Map(lines.map((l) => [l.lineNo, l]));
  const locById = new Map(locations.map((l) => [l.id, l]));
  return {
    holds: decision.placements.map((p) => ({
      lineId: byLineNo.get(p.lineNo)!.lineId,
      item: byLineNo.get(p.lineNo)!.item,
      location: locById.get(p.locationId)!,
      units: p.units,
      reasons: p.reasons,
    })),
    backordered: [...decision.backordered.values()].reduce((a, b) => a + b, 0),
    lines: new Map(
      lines.map((l) => [
        l.lineNo,
        {
          backordered: decision.backordered.get(l.lineNo) ?? 0,
          decision:
            l.item.kind === "digital"
              ? [{ rule: "digital", detail: "not stock-tracked" }]
              : l.dropship
                ? [
                    {
                      rule: "dropship",
                      detail: `shipped by supplier ${l.dropship} to the customer; no stock held`,
                    },
                  ]
                : (decision.lineReasons.get(l.lineNo) ?? []),
        },
      ]),
    ),
  };
}

/** The orders' lines with their allocation decisions (their ids are drawn already), as one statement. */
export function linesInsertSql(
  orders: { orderId: number; lines: PlacedLine[]; decided: HeldStock["lines"] }[],
) {
  const rows = orders.flatMap((o) =>
    o.lines.map((l) => ({ orderId: o.orderId, l, d: o.decided.get(l.lineNo)! })),
  );
  return sql`
    insert into order_lines (id, order_id, line_no, variant_id, sku, kind, title, quantity, unit_price, backordered,
      dropship, decision)
    overriding system value
    select u.id, u.order_id, u.line_no, u.variant_id, u.sku, u.kind, u.title, u.quantity, u.unit_price,
      u.backordered, u.dropship, u.decision
    from unnest(${rows.map((r) => r.l.lineId)}::bigint[], ${rows.map((r) => r.orderId)}::bigint[],
      ${rows.map((r) => r.l.lineNo)}::int[], ${rows.map((r) => r.l.item.id)}::bigint[],
      ${rows.map((r) => r.l.item.sku)}::text[], ${rows.map((r) => r.l.item.kind)}::text[],
      ${rows.map((r) => r.l.title)}::text[], ${rows.map((r) => r.l.quantity)}::int[],
      ${rows.map((r) => r.l.unitPrice)}::bigint[], ${rows.map((r) => r.d.backordered)}::int[],
      ${rows.map((r) => (r.l.dropship ? r.l.quantity : 0))}::int[], ${jsonbArray(rows.map((r) => r.d.decision))})
      as u(id, order_id, line_no, variant_id, sku, kind, title, quantity, unit_price, backordered, dropship, decision)
    order by u.id`;
}

function shortfalls(
  lines: PlacedLine[],
  missing: Map<number, number>,
  free: FreeStock,
  locations: LocationRef[],
) {
  return [...missing.keys()].map((lineNo) => {
    const line = lines.find((l) => l.lineNo === lineNo)!;
    const available = locations
      .filter((l) => l.active)
      .reduce((s, loc) => s + unitsAt(free, line.item, loc.id), 0);
    return { sku: line.item.sku, requested: line.quantity, available };
  });
}

/**
 * Gives each line the reservation's units of its variant (a bundle line its
 * components, in whole bundle units per location); what no line wants is
 * excess, to be released.
 */
export function matchReservation(
  lines: PlacedLine[],
  holds: Hold[],
  locations: LocationRef[],
  reservationId: number,
) {
  const pool = holds.map((h) => ({ ...h, left: h.quantity }));
  const locById = new Map(locations.map((l) => [l.id, l]));
  const out: LineHold[] = [];
  const reasons = (loc: LocationRef): DecisionReason[] => [
    { rule: "reservation", detail: `held at checkout by reservation ${reservationId} at ${loc.code}` },
  ];
  for (const line of lines) {
    let need = line.quantity;
    const mine = pool.filter((h) =>
      line.item.kind === "bundle"
        ? h.bundleVariantId === line.item.id
        : h.bundleVariantId === null && h.variantId === line.item.id,
    );
    for (const locationId of [...new Set(mine.map((h) => h.locationId))]) {
      if (need === 0) break;
      const here = mine.filter((h) => h.locationId === locationId);
      const units = Math.min(
        need,
        ...partsOf(line.item).map((p) =>
          Math.floor(
            here.filter((h) => h.variantId === p.variantId).reduce((s, h) => s + h.left, 0) / p.quantity,
          ),
        ),
      );
      if (units <= 0) continue;
      for (const p of partsOf(line.item)) {
        let take = units * p.quantity;
        for (const h of here.filter((x) => x.variantId === p.variantId)) {
          const n = Math.min(take, h.left);
          h.left -= n;
          take -= n;
        }
      }
      const location = locById.get(locationId)!;
      out.push({ lineId: line.lineId, item: line.item, location, units, reasons: reasons(location) });
      need -= units;
    }
  }
  const excess = pool
    .filter((h) => h.left > 0)
    .map((h) => ({ variantId: h.variantId, locationId: h.locationId, quantity: h.left }));
  return { holds: out, excess };
}
