import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { NotFound, ValidationFailed } from "../http/errors.js";
import { stockArrived } from "../inventory/arrivals.js";
import { changeStock } from "../inventory/stock.js";
import { applyReceiptCosts, spreadByValue } from "./costing.js";
import { assertTransition, statusAfterReceipt } from "./lifecycle.js";
import { getPurchaseOrder, lockOrder, outstandingOf, type PurchaseOrderView, poReference } from "./orders.js";
import { receivingAt } from "./receiving.js";
import { announce, factsOf } from "./transitions.js";

export interface ReceiptRequest {
  lines: { sku: string; quantity: number; unit_cost?: number }[];
  freight?: number;
  duty?: number;
  reference?: string;
  note?: string;
}

export interface ReceiptView {
  id: number;
  purchase_order_id: number;
  location: string;
  bucket: "on_hand" | "quarantine";
  freight: number;
  duty: number;
  reference: string | null;
  created_at: string;
  lines: {
    sku: string;
    quantity: number;
    over_received: number;
    unit_cost: number;
    landed_cost: number;
    avg_cost_after: number;
  }[];
  purchase_order: PurchaseOrderView;
}

/**
 * Books goods arriving against a purchase order, partially or in full. Units
 * the order still expected move incoming → on_hand (or → quarantine where the
 * location receives through inspection). Units beyond that are refused unless
 * the line, the order or the location allows over-receipt; allowed extra goes
 * straight to stock without passing through incoming. The receipt moves the
 * moving-average cost (freight and duty spread over its lines by value), and
 * announces on_hand arrivals so backordered orders fill in the same commit.
 */
export async function receivePurchaseOrder(
  tx: Tx,
  id: number,
  req: ReceiptRequest,
  actor: string,
): Promise<ReceiptView> {
  const po = await lockOrder(tx, id);
  assertTransition(factsOf(po), "receive");
  const setting = await receivingAt(tx, po.location_id);
  const bucket = setting.inspect ? "quarantine" : "on_hand";
  const bySku = new Map(po.lines.map((l) => [l.sku, l]));
  const seen = new Set<string>();
  const errors: { path: string; message: string }[] = [];
  const planned = req.lines.flatMap((r, i) => {
    const line = bySku.get(r.sku);
    if (!line) {
      errors.push({ path: `body.lines.${i}.sku`, message: `${r.sku} is not on purchase order ${id}` });
      return [];
    }
    if (seen.has(r.sku)) {
      errors.push({ path: `body.lines.${i}.sku`, message: "listed twice" });
      return [];
    }
    seen.add(r.sku);
    const open = outstandingOf(line);
    const inOrder = Math.min(r.quantity, open);
    const over = r.quantity - inOrder;
    if (over > 0 && !(line.allow_over_receipt || po.allow_over_receipt || setting.allow_over_receipt)) {
      errors.push({
        path: `body.lines.${i}.quantity`,
        message: `only ${open} of ${r.sku} outstanding; over-receipt is not allowed on this order line`,
      });
    }
    return [{ line, quantity: r.quantity, inOrder, over, unitCost: r.unit_cost ?? line.unit_cost }];
  });
  if (errors.length) throw new ValidationFailed(errors);

  const freight = req.freight ?? 0;
  const duty = req.duty ?? 0;
  const landed = spreadByValue(freight + duty, planned);
  const receipt = await tx
    .insertInto("receipts")
    .values({
      purchase_order_id: id,
      location_id: po.location_id,
      bucket,
      freight,
      duty,
      reference: req.reference ?? null,
      note: req.note ?? null,
      actor,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx
    .insertInto("receipt_lines")
    .values(
      planned.map((p, i) => ({
        receipt_id: receipt.id,
        line_no: i + 1,
        po_line_no: p.line.line_no,
        variant_id: p.line.variant_id,
        quantity: p.quantity,
        over_received: p.over,
        unit_cost: p.unitCost,
        landed_cost: landed[i],
      })),
    )
    .execute();
  // costs first: the average weighs the receipt against on_hand as it was before it
  await applyReceiptCosts(
    tx,
    receipt.id,
    po.currency,
    planned.map((p, i) => ({
      variantId: p.line.variant_id,
      quantity: p.quantity,
      unitCost: p.unitCost + landed[i] / p.quantity,
    })),
  );
  await sql`
    update purchase_order_lines pl set received = pl.received + x.qty
    from unnest(${planned.map((p) => p.line.line_no)}::int[], ${planned.map((p) => p.quantity)}::int[]) as x(line_no, qty)
    where pl.purchase_order_id = ${id} and pl.line_no = x.line_no`.execute(tx);
  const result = await changeStock(
    tx,
    planned.map((p) => ({
      variantId: p.line.variant_id,
      locationId: po.location_id,
      deltas: { incoming: -p.inOrder, [bucket]: p.quantity },
      reason: "receipt",
      reference: poReference(id),
      note: `receipt:${receipt.id}`,
    })),
    { actor, guardFree: false },
  );
  if (result.refused.length) throw new Error(`purchase order ${id}: receipt refused for ${result.refused}`);

  const outstandingAfter = po.lines.reduce((s, l) => {
    const got = planned.find((p) => p.line.line_no === l.line_no)?.quantity ?? 0;
    return s + outstandingOf({ quantity: l.quantity, received: l.received + got });
  }, 0);
  const status = statusAfterReceipt(outstandingAfter);
  await sql`update purchase_orders set status = ${status}, updated_at = now() where id = ${id}`.execute(tx);
  if (bucket === "on_hand") {
    await stockArrived(
      tx,
      planned.map((p) => ({ variantId: p.line.variant_id, locationId: po.location_id })),
    );
  }
  const view = await getReceipt(tx, receipt.id);
  await emit(tx, [
    { type: "purchase_order.receipt_created", payload: { ...view, purchase_order: undefined } },
  ]);
  if (status !== po.status) await announce(tx, id, status);
  return view;
}

export async function getReceipt(db: DB | Tx, id: number): Promise<ReceiptView> {
  const head = await sql<{
    id: number;
    purchase_order_id: number;
    location: string;
    bucket: "on_hand" | "quarantine";
    freight: number;
    duty: number;
    reference: string | null;
    created_at: Date;
  }>`
    select r.id, r.purchase_order_id, l.code as location, r.bucket, r.freight, r.duty, r.reference, r.created_at
    from receipts r join locations l on l.id = r.location_id where r.id = ${id}`.execute(db);
  const r = head.rows[0];
  if (!r) throw new NotFound("receipt", id);
  const lines = await sql<ReceiptView["lines"][number]>`
    select v.sku, rl.quantity, rl.over_received, rl.unit_cost, rl.landed_cost,
      round(coalesce((select cc.new_avg from cost_changes cc where cc.receipt_id = rl.receipt_id
                        and cc.variant_id = rl.variant_id), 0))::bigint as avg_cost_after
    from receipt_lines rl join variants v on v.id = rl.variant_id
    where rl.receipt_id = ${id} order by rl.line_no`.execute(db);
  return {
    ...r,
    created_at: r.created_at.toISOString(),
    lines: lines.rows,
    purchase_order: await getPurchaseOrder(db, r.purchase_order_id),
  };
}
