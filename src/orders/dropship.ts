import { sql } from "kysely";
import type { OrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { invoiceShipment } from "../finance/invoices.js";
import { postEntry } from "../finance/journal.js";
import { readFinanceSettings } from "../finance/settings.js";
import { InvalidTransition } from "../http/errors.js";
import { lockOrder, settle, step } from "./core.js";
import { type FulfilmentView, getFulfilment } from "./picklists.js";
import type { OrderSettings } from "./settings.js";
import { readOrderSettings } from "./settings.js";
import { record } from "./transitions.js";

/**
 * The order side of drop-ship (the purchase order side is
 * src/purchasing/dropship.ts). A drop-ship line holds no stock: its units
 * wait in `order_lines.dropship` until the supplier ships them. The
 * supplier's shipment becomes a fulfilment of no location (it names its
 * purchase order) whose lines hang on an allocation row of no location that
 * only counts shipped units; from there it flows on as any shipment does —
 * the order's status through the state machine (prepare, then settle's
 * ship_part / ship_all), `fulfillment.shipped` for the customer's e-mail and
 * the channel's confirmation, and the shipment's invoice. The goods never
 * were the shop's stock, so their cost goes to cost of goods sold against
 * purchase clearing at the purchase order's unit cost (the supplier's bill),
 * not through inventory.
 */

const SHIPPABLE: OrderStatus[] = ["approved", "backordered", "preparing", "partially_shipped"];

export interface SupplierShipment {
  purchaseOrderId: number;
  purchaseOrderNumber: string;
  supplier: string;
  currency: string;
  carrier: string;
  tracking_number: string;
  /** The order's units on the purchase order that ship now, with the unit cost paid for them. */
  lines: { orderLineId: number; variantId: number; sku: string; quantity: number; unitCost: number }[];
}

/**
 * Ships an order's drop-ship units as the supplier reported; the caller holds
 * the order's row lock (taken before the purchase order's). Refused whole
 * (InvalidTransition) when the order cannot ship now: on hold, not yet
 * approved, or a channel that ships orders whole still waiting for stock.
 */
export async function shipFromSupplier(
  tx: Tx,
  orderId: number,
  s: SupplierShipment,
  opts: { actor: string; settings?: OrderSettings },
): Promise<FulfilmentView> {
  const settings = opts.settings ?? (await readOrderSettings(tx));
  let order = await lockOrder(tx, orderId);
  if (!SHIPPABLE.includes(order.status)) {
    const why =
      order.status === "on_hold"
        ? `order ${order.number} is on hold (${order.hold_reasons.map((r) => r.code).join(", ")}): release it first`
        : `order ${order.number} is ${order.status}; it must be one of ${SHIPPABLE.join(", ")} to ship`;
    throw new InvalidTransition("order", order.status, "ship drop-ship lines", [], why);
  }
  if (order.status === "approved" || order.status === "backordered") {
    order = await step(tx, order, "prepare", settings, {
      actor: opts.actor,
      reason: `supplier shipment ${s.purchaseOrderNumber}`,
    });
  }
  const lines = s.lines.filter((l) => l.quantity > 0);
  const reasons = JSON.stringify([
    { rule: "dropship", detail: `shipped by supplier ${s.supplier} (${s.purchaseOrderNumber})` },
  ]);
  const allocations = await sql<{ id: number; line_id: number }>`
    insert into order_allocations (order_id, line_id, variant_id, location_id, per_unit, counts_units, shipped, reasons)
    select ${orderId}, u.line_id, u.variant_id, null, 1, true, u.q, ${reasons}::jsonb
    from unnest(${lines.map((l) => l.orderLineId)}::bigint[], ${lines.map((l) => l.variantId)}::bigint[],
      ${lines.map((l) => l.quantity)}::int[]) as u(line_id, variant_id, q)
    returning id, line_id`.execute(tx);
  // the line's units move from waiting for the supplier to shipped; the check keeps them from going below 0
  await sql`
    update order_lines l set dropship = l.dropship - u.q
    from unnest(${lines.map((l) => l.orderLineId)}::bigint[], ${lines.map((l) => l.quantity)}::int[]) as u(id, q)
    where l.id = u.id`.execute(tx);
  const f = await sql<{ id: number }>`
    insert into fulfillments (order_id, location_id, purchase_order_id, status, carrier, tracking_number, actor, shipped_at)
    values (${orderId}, null, ${s.purchaseOrderId}, 'shipped', ${s.carrier}, ${s.tracking_number}, ${opts.actor}, now())
    returning id`.execute(tx);
  const fulfilmentId = f.rows[0].id;
  const byLine = new Map(allocations.rows.map((a) => [a.line_id, a.id]));
  await sql`
    insert into fulfillment_lines (fulfillment_id, allocation_id, quantity)
    select ${fulfilmentId}, * from unnest(${lines.map((l) => byLine.get(l.orderLineId)!)}::bigint[],
      ${lines.map((l) => l.quantity)}::int[])`.execute(tx);
  await record(tx, orderId, {
    from: order.status,
    to: order.status,
    action: "fulfillment_ship",
    actor: opts.actor,
    reason: `fulfilment ${fulfilmentId} shipped by supplier ${s.supplier} (${s.purchaseOrderNumber}) via ${s.carrier} ${s.tracking_number}`,
  });
  const view = await getFulfilment(tx, fulfilmentId);
  await emit(tx, [
    { type: "fulfillment.created", payload: view },
    { type: "fulfillment.shipped", payload: view },
  ]);
  await settle(tx, orderId, settings, opts.actor);
  const finance = await readFinanceSettings(tx);
  await postEntry(tx, finance.accounts, {
    source_type: "dropship",
    source_id: `fulfillment:${fulfilmentId}`,
    reference: s.purchaseOrderNumber,
    currency: s.currency,
    description: `drop-ship ${s.purchaseOrderNumber} for order ${order.number}: supplier's cost of the goods shipped`,
    lines: lines.flatMap((l) => [
      { role: "cogs" as const, debit: l.quantity * l.unitCost, sku: l.sku },
      { role: "purchase_clearing" as const, credit: l.quantity * l.unitCost, sku: l.sku },
    ]),
  });
  // the shipment's invoice, numbered and posted in this transaction (last: the counter row stays locked to commit)
  await invoiceShipment(tx, fulfilmentId);
  return view;
}
