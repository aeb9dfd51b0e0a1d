import type { PaymentKind, PaymentStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { creditRefund } from "../finance/credit-notes.js";
import { ValidationFailed } from "../http/errors.js";

/**
 * Payments are events (authorized, paid, failed, voided, refunded) with
 * amounts in minor units; the order's payment status is derived from them
 * here and nowhere else.
 */

export interface PaymentEvent {
  kind: PaymentKind;
  amount: number;
}

export interface PaymentSums {
  authorized: number;
  paid: number;
  voided: number;
  refunded: number;
  /** Authorised and neither captured (paid) nor voided. */
  openAuthorization: number;
}

export function sumPayments(events: PaymentEvent[]): PaymentSums {
  const sum = (k: PaymentKind) => events.filter((e) => e.kind === k).reduce((s, e) => s + e.amount, 0);
  const authorized = sum("authorized");
  const paid = sum("paid");
  const voided = sum("voided");
  return {
    authorized,
    paid,
    voided,
    refunded: sum("refunded"),
    openAuthorization: Math.max(0, authorized - voided - paid),
  };
}

/**
 * The one place payment status is decided. Refunds first (they follow a
 * payment); then whether captured and authorised money covers the total; a
 * failure or void only shows while nothing else secures the order.
 */
export function paymentStatus(events: PaymentEvent[], total: number): PaymentStatus {
  const s = sumPayments(events);
  if (s.paid > 0 && s.refunded >= s.paid) return "refunded";
  if (s.refunded > 0) return "partially_refunded";
  if (s.paid >= total && (s.paid > 0 || total === 0)) return "paid";
  if (s.paid + s.openAuthorization >= total && s.openAuthorization > 0) return "authorized";
  if (s.paid > 0) return "partially_paid";
  const last = events[events.length - 1];
  if (last?.kind === "failed") return "failed";
  if (s.voided > 0) return "voided";
  return total === 0 ? "paid" : "pending";
}

/** Money covering the order is authorised or captured: approval and allocation may rely on it. */
export function paymentSecured(status: PaymentStatus): boolean {
  return status === "authorized" || status === "paid" || status === "partially_refunded";
}

/** Refuses an event the earlier ones make impossible (a refund of money never paid…). */
export function checkPayment(events: PaymentEvent[], next: PaymentEvent, total: number, path = "body"): void {
  const s = sumPayments(events);
  const fail = (message: string) => {
    throw new ValidationFailed([{ path: `${path}.amount`, message }]);
  };
  if (next.kind !== "failed" && next.amount <= 0) fail("must be greater than 0");
  if (next.kind === "paid" && s.paid + next.amount > total) {
    fail(`payments would total ${s.paid + next.amount}, more than the order total ${total}`);
  }
  if (next.kind === "voided" && next.amount > s.openAuthorization) {
    fail(`only ${s.openAuthorization} is authorised and not captured`);
  }
  if (next.kind === "refunded" && next.amount > s.paid - s.refunded) {
    fail(`only ${s.paid - s.refunded} has been paid and not refunded`);
  }
}

export async function paymentEvents(tx: Tx, orderId: number): Promise<PaymentEvent[]> {
  return tx
    .selectFrom("order_payments")
    .select(["kind", "amount"])
    .where("order_id", "=", orderId)
    .orderBy("id")
    .execute();
}

/** Records one event and stores the derived status on the order; returns the new status. */
export async function addPayment(
  tx: Tx,
  order: { id: number; total: number },
  event: PaymentEvent & { reference?: string | null },
  actor: string,
  path = "body",
): Promise<PaymentStatus> {
  const events = await paymentEvents(tx, order.id);
  checkPayment(events, event, order.total, path);
  const row = await tx
    .insertInto("order_payments")
    .values({
      order_id: order.id,
      kind: event.kind,
      amount: event.amount,
      reference: event.reference ?? null,
      actor,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  // a refund of invoiced money gets its credit notes in this transaction
  if (event.kind === "refunded") {
    await creditRefund(tx, {
      payment_id: row.id,
      order_id: order.id,
      amount: event.amount,
      reference: event.reference,
    });
  }
  const status = paymentStatus([...events, event], order.total);
  await tx
    .updateTable("orders")
    .set({ payment_status: status, updated_at: new Date() })
    .where("id", "=", order.id)
    .execute();
  return status;
}
