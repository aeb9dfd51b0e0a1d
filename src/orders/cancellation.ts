import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, InvalidTransition, ValidationFailed } from "../http/errors.js";
import { takeOffDropshipOrders } from "../purchasing/dropship.js";
import { fillBackorders } from "./backorders.js";
import { factsOf, lockOrder, type OrderRow, settle } from "./core.js";
import type { ActionOptions } from "./lifecycle.js";
import { readOrderSettings } from "./settings.js";
import { type Release, releaseUnits } from "./stock.js";
import { check, record, transition } from "./transitions.js";

/**
 * Cancelling before shipment gives back exactly what the order holds —
 * reserved units with a `release` movement, allocated ones with a
 * `deallocation` — and backordered units simply stop waiting. Freed stock
 * goes to other orders' backorders at once. Shipped units cannot be
 * cancelled: they come back through a return.
 */

interface HeldRow {
  id: number;
  line_id: number;
  variant_id: number;
  location_id: number;
  priority: number;
  per_unit: number;
  counts_units: boolean;
  reserved: number;
  allocated: number;
  in_fulfilment: number;
}

async function heldRows(tx: Tx, orderId: number): Promise<HeldRow[]> {
  const r = await sql<HeldRow>`
    select a.id, a.line_id, a.variant_id, a.location_id, l.priority, a.per_unit, a.counts_units, a.reserved, a.allocated,
      coalesce((select sum(fl.quantity) from fulfillment_lines fl join fulfillments f on f.id = fl.fulfillment_id
                where fl.allocation_id = a.id and f.status in ('pending', 'picking', 'packed')), 0)::int as in_fulfilment
    from order_allocations a join locations l on l.id = a.location_id
    where a.order_id = ${orderId}
    order by a.line_id, l.priority desc, a.location_id desc, a.variant_id`.execute(tx);
  return r.rows;
}

async function releaseAndRefill(tx: Tx, orderId: number, releases: Release[], actor: string): Promise<void> {
  await releaseUnits(tx, orderId, releases, actor);
  await fillBackorders(
    tx,
    releases.map((r) => ({ variantId: r.variantId, locationId: r.locationId })),
    { actor: "system:backorders", exceptOrder: orderId },
  );
}

export async function cancelOrder(
  tx: Tx,
  key: string | number,
  req: { reason: string; lines?: { sku: string; quantity: number }[] },
  opts: ActionOptions,
): Promise<OrderRow> {
  const settings = opts.settings ?? (await readOrderSettings(tx));
  const order = await lockOrder(tx, key);
  if (req.lines) return cancelLines(tx, order, req.lines, req.reason, opts.actor);
  const facts = await factsOf(tx, order, settings);
  const rule = check("cancel", facts);
  if (rule instanceof InvalidTransition) throw rule;
  await sql`update fulfillments set status = 'cancelled', updated_at = now()
            where order_id = ${order.id} and status in ('pending', 'picking', 'packed')`.execute(tx);
  const rows = await heldRows(tx, order.id);
  await sql`update order_lines set cancelled = quantity, backordered = 0, dropship = 0 where order_id = ${order.id}`.execute(
    tx,
  );
  // drop-ship units come off their suppliers' purchase orders (a supplier that shipped already made this a return)
  await takeOffDropshipOrders(tx, order, opts.actor);
  await transition(tx, order, "cancel", facts, { actor: opts.actor, reason: req.reason });
  await releaseAndRefill(
    tx,
    order.id,
    rows.map((r) => ({
      allocationId: r.id,
      variantId: r.variant_id,
      locationId: r.location_id,
      reserved: r.reserved,
      allocated: r.allocated,
    })),
    opts.actor,
  );
  return settle(tx, order.id, settings, opts.actor);
}

const LINE_CANCELLABLE = ["received", "on_hold", "approved", "backordered", "preparing", "partially_shipped"];

async function cancelLines(
  tx: Tx,
  order: OrderRow,
  wanted: { sku: string; quantity: number }[],
  reason: string,
  actor: string,
): Promise<OrderRow> {
  const settings = await readOrderSettings(tx);
  if (!LINE_CANCELLABLE.includes(order.status)) {
    const facts = await factsOf(tx, order, settings);
    const refusal = check("cancel", facts);
    throw refusal instanceof InvalidTransition
      ? refusal
      : new InvalidTransition("order", order.status, "cancel lines", []);
  }
  const lines = await tx
    .selectFrom("order_lines")
    .select(["id", "line_no", "sku", "kind", "quantity", "cancelled", "backordered", "dropship"])
    .where("order_id", "=", order.id)
    .orderBy("line_no")
    .execute();
  const rows = await heldRows(tx, order.id);
  const releases: Release[] = [];
  const lineChanges = new Map<number, { cancelled: number; backordered: number; dropship: number }>();
  wanted.forEach((w, i) => {
    const mine = lines.filter((l) => l.sku === w.sku);
    if (mine.length === 0) {
      throw new ValidationFailed([{ path: `body.lines.${i}.sku`, message: `${w.sku} is not on this order` }]);
    }
    let left = w.quantity;
    let open = 0;
    for (const line of mine) {
      const change = lineChanges.get(line.id) ?? { cancelled: 0, backordered: 0, dropship: 0 };
      // backordered units first: they hold nothing
      const fromBackorder = Math.min(left, line.backordered - change.backordered);
      change.backordered += fromBackorder;
      change.cancelled += fromBackorder;
      left -= fromBackorder;
      open += fromBackorder;
      // drop-ship units the supplier has not shipped: they come off its purchase order
      const fromDropship = Math.min(left, line.dropship - change.dropship);
      change.dropship += fromDropship;
      change.cancelled += fromDropship;
      left -= fromDropship;
      open += fromDropship;
      if (line.kind === "digital") {
        const stillOpen = line.quantity - line.cancelled - change.cancelled;
        const n = Math.min(left, stillOpen);
        change.cancelled += n;
        left -= n;
        open += stillOpen;
      }
      // then held units outside open fulfilments, least preferred location first, reserved before allocated
      for (const unitRow of rows.filter((r) => r.line_id === line.id && r.counts_units)) {
        const free = Math.floor(
          (unitRow.reserved + unitRow.allocated - unitRow.in_fulfilment) / unitRow.per_unit,
        );
        open += Math.max(0, free);
        const n = Math.min(left, Math.max(0, free));
        if (n === 0) continue;
        for (const part of rows.filter(
          (r) => r.line_id === line.id && r.location_id === unitRow.location_id,
        )) {
          let q = n * part.per_unit;
          const res = Math.min(q, part.reserved);
          q -= res;
          part.reserved -= res;
          part.allocated -= q;
          releases.push({
            allocationId: part.id,
            variantId: part.variant_id,
            locationId: part.location_id,
            reserved: res,
            allocated: q,
          });
        }
        change.cancelled += n;
        left -= n;
      }
      lineChanges.set(line.id, change);
    }
    if (left > 0) {
      throw new Conflict(
        `only ${open} units of ${w.sku} can be cancelled; the rest are in open fulfilments (cancel those first) or shipped (start a return: POST /v1/returns)`,
        { sku: w.sku, cancellable: open },
      );
    }
  });
  for (const [lineId, c] of lineChanges) {
    await sql`update order_lines set cancelled = cancelled + ${c.cancelled}, backordered = backordered - ${c.backordered},
              dropship = dropship - ${c.dropship} where id = ${lineId}`.execute(tx);
  }
  const offPurchaseOrders = new Map(
    [...lineChanges].flatMap(([id, c]) => (c.dropship > 0 ? [[id, c.dropship]] : [])),
  );
  if (offPurchaseOrders.size) await takeOffDropshipOrders(tx, order, actor, offPurchaseOrders);
  const remaining = await sql<{ n: number }>`
    select coalesce(sum(quantity - cancelled), 0)::int as n from order_lines where order_id = ${order.id}`.execute(
    tx,
  );
  const summary = wanted.map((w) => `${w.quantity} × ${w.sku}`).join(", ");
  if (remaining.rows[0].n === 0 && order.status !== "partially_shipped") {
    await transition(tx, order, "cancel", await factsOf(tx, order, settings), { actor, reason });
  } else {
    await record(tx, order.id, {
      from: order.status,
      to: order.status,
      action: "cancel_lines",
      actor,
      reason: `${summary}: ${reason}`,
    });
  }
  await emit(tx, [
    { type: "order.lines_cancelled", payload: { id: order.id, number: order.number, lines: wanted, reason } },
  ]);
  await releaseAndRefill(tx, order.id, releases, actor);
  return settle(tx, order.id, settings, actor);
}
