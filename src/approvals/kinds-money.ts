import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { cancelOrder } from "../orders/cancellation.js";
import { lockOrder } from "../orders/core.js";
import { recordPayment, releaseOrder } from "../orders/lifecycle.js";
import { getOrderView } from "../orders/view.js";
import { submitPurchaseOrder } from "../purchasing/transitions.js";
import { refundReturn } from "../returns/money.js";
import { getReturnView } from "../returns/view.js";
import { type ApprovalKind, above } from "./kind.js";

const PAID = ["paid", "partially_paid"];

/** POST /v1/orders/{id}/cancel. */
export interface CancelPayload {
  id: string;
  reason: string;
  lines?: { sku: string; quantity: number }[];
}

async function orderState(tx: Tx, key: string) {
  const o = await lockOrder(tx, key);
  return {
    id: o.id,
    status: o.status,
    payment_status: o.payment_status,
    holds: o.hold_reasons.map((r) => r.code).sort(),
  };
}

/**
 * Cancelling (all or some units of) an order that has been paid for, in part
 * or in full, at or above the threshold total (null: any paid order).
 * Re-checked at execution: the same status, payment status and holds.
 */
export const paidOrderCancel: ApprovalKind<CancelPayload> = {
  async evaluate(tx, p, policy) {
    const o = await lockOrder(tx, p.id);
    if (!PAID.includes(o.payment_status) || !above(o.total, policy)) return null;
    const what = p.lines ? `${p.lines.reduce((n, l) => n + l.quantity, 0)} units of` : "";
    return {
      summary: `cancel ${what} paid order ${o.number} (total ${o.total} ${o.currency}): ${p.reason}`,
      facts: { payment_status: o.payment_status, total: o.total, currency: o.currency },
      entityType: "orders",
      entityId: String(o.id),
      snapshot: await orderState(tx, p.id),
    };
  },
  snapshot: (tx, p) => orderState(tx, p.id),
  async execute(tx, p, ctx) {
    const o = await cancelOrder(tx, p.id, { reason: p.reason, lines: p.lines }, { actor: ctx.actor });
    return { status: 200, body: await getOrderView(tx, o.id) };
  },
};

/** POST /v1/orders/{id}/release. */
export interface ReleasePayload {
  id: string;
  reasons?: string[];
}

/** Releasing an order's fraud hold (naming it, or releasing every hold). */
export const fraudHoldRelease: ApprovalKind<ReleasePayload> = {
  async evaluate(tx, p) {
    const o = await lockOrder(tx, p.id);
    const fraud = o.hold_reasons.find((r) => r.code === "fraud");
    if (o.status !== "on_hold" || !fraud || (p.reasons && !p.reasons.includes("fraud"))) return null;
    return {
      summary: `release the fraud hold of order ${o.number} (${fraud.detail})`,
      facts: { holds: o.hold_reasons.map((r) => r.code), fraud: fraud.detail, total: o.total },
      entityType: "orders",
      entityId: String(o.id),
      snapshot: await orderState(tx, p.id),
    };
  },
  snapshot: (tx, p) => orderState(tx, p.id),
  async execute(tx, p, ctx) {
    const o = await releaseOrder(tx, p.id, p.reasons, { actor: ctx.actor });
    return { status: 200, body: await getOrderView(tx, o.id) };
  },
};

/**
 * POST /v1/returns/{id}/refund, or POST /v1/orders/{id}/payments recording a
 * refund (`status` present: the order's own payment events).
 */
export interface RefundPayload {
  id: string;
  amount: number;
  reference?: string;
  status?: "authorized" | "paid" | "failed" | "voided" | "refunded";
}

async function returnState(tx: Tx, key: string) {
  const id = (await getReturnView(tx, key)).id;
  const r = await sql<{ id: number; status: string; refunded: number }>`
    select id, status, refunded from returns where id = ${id} for update`.execute(tx);
  return r.rows[0] ?? null;
}

/**
 * A refund above the threshold amount, on a return or recorded straight on
 * the order. Re-checked: the return's status and what it has refunded so
 * far, or the order's status and payment status.
 */
export const refund: ApprovalKind<RefundPayload> = {
  async evaluate(tx, p, policy) {
    if (!above(p.amount, policy)) return null;
    if (p.status !== undefined) {
      if (p.status !== "refunded") return null;
      const o = await lockOrder(tx, p.id);
      return {
        summary: `record a refund of ${p.amount} ${o.currency} on order ${o.number}`,
        facts: { amount: p.amount, threshold: policy.threshold, payment_status: o.payment_status },
        entityType: "orders",
        entityId: String(o.id),
        snapshot: await orderState(tx, p.id),
      };
    }
    const state = await returnState(tx, p.id);
    if (!state) return null;
    return {
      summary: `refund ${p.amount} on return ${p.id}`,
      facts: { amount: p.amount, threshold: policy.threshold, refunded_before: state.refunded },
      entityType: "returns",
      entityId: String(state.id),
      snapshot: state,
    };
  },
  snapshot: (tx, p) => (p.status !== undefined ? orderState(tx, p.id) : returnState(tx, p.id)),
  async execute(tx, p, ctx) {
    if (p.status !== undefined) {
      const o = await recordPayment(
        tx,
        p.id,
        { status: p.status, amount: p.amount, reference: p.reference },
        { actor: ctx.actor },
      );
      return { status: 201, body: await getOrderView(tx, o.id) };
    }
    const id = await refundReturn(tx, p.id, { amount: p.amount, reference: p.reference }, ctx.actor);
    return { status: 200, body: await getReturnView(tx, id) };
  },
};

/** POST /v1/purchase-orders/{id}/submit. */
export interface PurchaseOrderPayload {
  id: number;
}

async function poState(tx: Tx, id: number) {
  const r = await sql<{ status: string; total: string; lines: number; currency: string }>`
    select po.status, po.currency,
      coalesce((select sum(pl.quantity * pl.unit_cost) from purchase_order_lines pl
                where pl.purchase_order_id = po.id), 0)::bigint::text as total,
      (select count(*) from purchase_order_lines pl where pl.purchase_order_id = po.id)::int as lines
    from purchase_orders po where po.id = ${id} for update`.execute(tx);
  const row = r.rows[0];
  return row ? { ...row, total: Number(row.total) } : null;
}

/**
 * Submitting (sending to the supplier) a purchase order whose total is above
 * the threshold: the approval is the purchase order's approval. Re-checked:
 * still the same status, lines and total.
 */
export const purchaseOrder: ApprovalKind<PurchaseOrderPayload> = {
  async evaluate(tx, p, policy) {
    const state = await poState(tx, p.id);
    if (state?.status !== "draft" || !above(state.total, policy)) return null;
    return {
      summary: `submit purchase order ${p.id}: ${state.lines} lines, ${state.total} ${state.currency}`,
      facts: { total: state.total, currency: state.currency, threshold: policy.threshold },
      entityType: "purchase-orders",
      entityId: String(p.id),
      snapshot: state,
    };
  },
  snapshot: (tx, p) => poState(tx, p.id),
  async execute(tx, p, ctx) {
    return { status: 200, body: await submitPurchaseOrder(tx, p.id, ctx.actor) };
  },
};
