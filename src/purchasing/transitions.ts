import { sql } from "kysely";
import type { PurchaseOrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { changeStock } from "../inventory/stock.js";
import { assertTransition, type PurchaseOrderAction } from "./lifecycle.js";
import {
  getPurchaseOrder,
  type LockedOrder,
  lockOrder,
  outstandingOf,
  type PurchaseOrderView,
  poReference,
} from "./orders.js";

/** Submit, cancel and close: the purchase order transitions that are not receipts. */

export function factsOf(po: LockedOrder) {
  return {
    status: po.status,
    lines: po.lines.length,
    supplierActive: po.supplier_active,
    outstanding: po.lines.reduce((s, l) => s + outstandingOf(l), 0),
    dropship: po.dropship,
  };
}

/**
 * Sends the order to the supplier: every line's quantity becomes `incoming`
 * at the destination (reason `purchase`), and each line gets its expected
 * date — its own, else the order's, else today (UTC) + the item's lead time.
 */
export async function submitPurchaseOrder(tx: Tx, id: number, actor: string): Promise<PurchaseOrderView> {
  const po = await lockOrder(tx, id);
  assertTransition(factsOf(po), "submit");
  await sql`
    update purchase_order_lines pl set expected_date = coalesce(pl.expected_date, po.expected_date,
        (now() at time zone 'UTC')::date + coalesce((select si.lead_time_days from supplier_items si
                                 where si.supplier_id = po.supplier_id and si.variant_id = pl.variant_id),
                                s.lead_time_days))
    from purchase_orders po join suppliers s on s.id = po.supplier_id
    where po.id = ${id} and pl.purchase_order_id = po.id`.execute(tx);
  await sql`
    update purchase_orders set status = 'submitted', submitted_at = now(), updated_at = now(),
      expected_date = coalesce(expected_date,
        (select min(expected_date) from purchase_order_lines where purchase_order_id = ${id}))
    where id = ${id}`.execute(tx);
  const result = await changeStock(
    tx,
    po.lines.map((l) => ({
      variantId: l.variant_id,
      locationId: po.location_id,
      deltas: { incoming: l.quantity },
      reason: "purchase",
      reference: poReference(id),
    })),
    { actor, guardFree: false },
  );
  if (result.refused.length) throw new Error(`purchase order ${id}: incoming refused for ${result.refused}`);
  return announce(tx, id, "submitted");
}

/** Cancels a draft (nothing to undo) or a submitted order (its incoming units are taken back). */
export async function cancelPurchaseOrder(
  tx: Tx,
  id: number,
  reason: string | undefined,
  actor: string,
): Promise<PurchaseOrderView> {
  return endOrder(tx, id, "cancel", "cancelled", reason, actor);
}

/**
 * Closes a received order, or short-closes a partially received one: what
 * was not delivered is no longer expected and leaves `incoming`.
 */
export async function closePurchaseOrder(
  tx: Tx,
  id: number,
  reason: string | undefined,
  actor: string,
): Promise<PurchaseOrderView> {
  return endOrder(tx, id, "close", "closed", reason, actor);
}

async function endOrder(
  tx: Tx,
  id: number,
  action: PurchaseOrderAction,
  to: PurchaseOrderStatus,
  reason: string | undefined,
  actor: string,
): Promise<PurchaseOrderView> {
  const po = await lockOrder(tx, id);
  assertTransition(factsOf(po), action);
  if (po.status !== "draft") {
    const open = po.lines.filter((l) => outstandingOf(l) > 0);
    const result = await changeStock(
      tx,
      open.map((l) => ({
        variantId: l.variant_id,
        locationId: po.location_id,
        deltas: { incoming: -outstandingOf(l) },
        reason: "purchase_cancelled",
        reference: poReference(id),
        note: reason ?? null,
      })),
      { actor, guardFree: false },
    );
    if (result.refused.length)
      throw new Error(`purchase order ${id}: incoming disagrees for ${result.refused}`);
  }
  await sql`update purchase_orders set status = ${to}, ended_at = now(), end_reason = ${reason ?? null},
            updated_at = now() where id = ${id}`.execute(tx);
  return announce(tx, id, to);
}

export async function announce(tx: Tx, id: number, status: PurchaseOrderStatus): Promise<PurchaseOrderView> {
  const view = await getPurchaseOrder(tx, id);
  await emit(tx, [{ type: `purchase_order.${status}`, payload: view }]);
  return view;
}
