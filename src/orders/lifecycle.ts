import { type RawBuilder, sql } from "kysely";
import type { PaymentKind, PaymentStatus } from "../db/schema.js";
import { runAsOne } from "../db/statements.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { InvalidTransition, ValidationFailed } from "../http/errors.js";
import type { HoldCause } from "./checks.js";
import { factsOf, lockOrder, type OrderRow, readOrder, settle, step } from "./core.js";
import { addPayment, paymentSecured } from "./payments.js";
import { type OrderSettings, readOrderSettings } from "./settings.js";
import { commitOrderStock } from "./stock.js";
import { allowedActions, record } from "./transitions.js";

/** Operator actions on an order: approve, hold, release, complete, and payments. */

export interface ActionOptions {
  actor: string;
  /** Settings to use instead of the stored ones (demo data, tests). */
  settings?: OrderSettings;
}

const settingsOf = async (tx: Tx, o: ActionOptions) => o.settings ?? readOrderSettings(tx);

/** Reserved → allocated, announced, when the order has not committed its stock yet. */
export async function commitStock(tx: Tx, order: OrderRow, actor: string, why: string): Promise<void> {
  if (order.stock_committed_at) return;
  const units = await commitOrderStock(tx, order.id, actor); // sets stock_committed_at too
  await runAsOne(tx, committedStatements([{ order, units }], actor, why, true));
}

/**
 * The statements that mark orders committed, with their timeline entries and
 * events (the stock has moved already). `marked`: stock_committed_at is set
 * already (placement writes it with the order). Orders that hold no units yet
 * (backordered or digital) get no entry: later fills go straight to allocated.
 */
export function committedStatements(
  orders: { order: Pick<OrderRow, "id" | "number" | "status">; units: number }[],
  actor: string,
  why: string,
  marked = false,
): RawBuilder<unknown>[] {
  const ids = orders.map((o) => o.order.id);
  const mark = marked
    ? []
    : [
        sql`update orders set stock_committed_at = coalesce(stock_committed_at, now()) where id = any(${ids}::bigint[])`,
      ];
  const held = orders.filter((o) => o.units > 0);
  if (held.length === 0) return mark;
  const col = <T>(f: (o: (typeof held)[number]) => T) => held.map(f);
  const u = sql`unnest(${col((o) => o.order.id)}::bigint[], ${col((o) => o.order.number)}::text[],
    ${col((o) => o.order.status)}::text[], ${col((o) => o.units)}::int[]) with ordinality as u(id, number, status, units, k)`;
  return [
    ...mark,
    sql`insert into order_timeline (order_id, from_status, to_status, action, actor, reason)
        select u.id, u.status, u.status, 'allocate', ${actor}, ${why} from ${u} order by u.k`,
    sql`insert into outbox_events (type, payload)
        select 'order.allocated', jsonb_build_object('id', u.id, 'number', u.number, 'units', u.units, 'reason', ${why}::text)
        from ${u} order by u.k`,
  ];
}

/** received → approved; at approval the stock is committed when the setting says so. */
export async function approveLocked(
  tx: Tx,
  order: OrderRow,
  settings: OrderSettings,
  actor: string,
  reason: string | null,
): Promise<OrderRow> {
  let o = await step(tx, order, "approve", settings, { actor, reason });
  if (settings.allocate_at === "approval") {
    await commitStock(tx, o, actor, "approved (allocate_at: approval)");
    o = await readOrder(tx, o.id);
  }
  return settle(tx, o.id, settings, actor);
}

export async function approveOrder(tx: Tx, key: string | number, opts: ActionOptions & { reason?: string }) {
  const settings = await settingsOf(tx, opts);
  const order = await lockOrder(tx, key);
  return approveLocked(tx, order, settings, opts.actor, opts.reason ?? null);
}

/** Puts the order on hold (or adds reasons to a hold), remembering where it was. */
export async function holdLocked(
  tx: Tx,
  order: OrderRow,
  causes: HoldCause[],
  settings: OrderSettings,
  actor: string,
): Promise<OrderRow> {
  const o = await step(tx, order, "hold", settings, {
    actor,
    reason: causes.map((c) => c.detail).join("; "),
  });
  const at = new Date().toISOString();
  const added = causes.map((c) => ({ ...c, actor, at }));
  await sql`update orders set hold_reasons = hold_reasons || ${JSON.stringify(added)}::jsonb where id = ${o.id}`.execute(
    tx,
  );
  return readOrder(tx, o.id);
}

export async function holdOrder(tx: Tx, key: string | number, cause: HoldCause, opts: ActionOptions) {
  const settings = await settingsOf(tx, opts);
  return holdLocked(tx, await lockOrder(tx, key), [cause], settings, opts.actor);
}

/**
 * Clears hold reasons (the given codes, or all). When none remain the order
 * returns to the status it was held from; a received order then approves
 * itself when auto-approve is on, as a person has looked at it.
 */
export async function releaseLocked(
  tx: Tx,
  order: OrderRow,
  codes: string[] | undefined,
  settings: OrderSettings,
  actor: string,
): Promise<OrderRow> {
  if (order.status !== "on_hold") {
    const allowed = allowedActions(await factsOf(tx, order, settings));
    throw new InvalidTransition(
      "order",
      order.status,
      "release",
      allowed,
      `the order is not on hold; allowed now: ${allowed.join(", ") || "none"}`,
    );
  }
  if (codes && !order.hold_reasons.some((r) => codes.includes(r.code))) {
    throw new ValidationFailed([
      {
        path: "body.reasons",
        message: `the order is held for ${order.hold_reasons.map((r) => r.code).join(", ") || "nothing"}`,
      },
    ]);
  }
  const left = codes ? order.hold_reasons.filter((r) => !codes.includes(r.code)) : [];
  if (left.length > 0) {
    await sql`update orders set hold_reasons = ${JSON.stringify(left)}::jsonb, updated_at = now() where id = ${order.id}`.execute(
      tx,
    );
    const reason = `released ${codes?.join(", ")}; still held for ${left.map((r) => r.code).join(", ")}`;
    await record(tx, order.id, { from: "on_hold", to: "on_hold", action: "release_reason", actor, reason });
    await emit(tx, [{ type: "order.hold_updated", payload: { id: order.id, number: order.number, reason } }]);
    return readOrder(tx, order.id);
  }
  const released = order.hold_reasons.map((r) => r.code).join(", ");
  let o = await step(tx, order, "release", settings, {
    actor,
    reason: released ? `released ${released}` : null,
  });
  if (o.status === "received" && settings.auto_approve) {
    const facts = await factsOf(tx, o, settings);
    if (!facts.requirePayment || facts.paymentSecured) {
      o = await approveLocked(tx, o, settings, actor, "auto-approve after release");
    }
  }
  return settle(tx, o.id, settings, actor);
}

export async function releaseOrder(
  tx: Tx,
  key: string | number,
  codes: string[] | undefined,
  opts: ActionOptions,
) {
  const settings = await settingsOf(tx, opts);
  return releaseLocked(tx, await lockOrder(tx, key), codes, settings, opts.actor);
}

export async function completeOrder(tx: Tx, key: string | number, opts: ActionOptions & { reason?: string }) {
  const settings = await settingsOf(tx, opts);
  const order = await lockOrder(tx, key);
  return step(tx, order, "complete", settings, { actor: opts.actor, reason: opts.reason ?? null });
}

export interface PaymentRequest {
  status: PaymentKind;
  amount: number;
  reference?: string;
}

/**
 * Records a payment event and draws its consequences: a secured payment
 * lifts a payment hold and, with allocate_at = payment, commits the stock; a
 * failed or voided one puts an approved, unshipped order on hold when
 * approval requires payment.
 */
/** Records a payment event on the timeline and the outbox; returns the derived payment status. */
export async function notePayment(
  tx: Tx,
  order: OrderRow,
  req: PaymentRequest,
  actor: string,
  path = "body",
): Promise<PaymentStatus> {
  const status = await addPayment(
    tx,
    order,
    { kind: req.status, amount: req.amount, reference: req.reference },
    actor,
    path,
  );
  const reason = `${req.status} ${req.amount} ${order.currency}: payment ${status}`;
  await record(tx, order.id, { from: order.status, to: order.status, action: "payment", actor, reason });
  await emit(tx, [
    {
      type: "order.payment_recorded",
      payload: {
        id: order.id,
        number: order.number,
        kind: req.status,
        amount: req.amount,
        payment_status: status,
      },
    },
  ]);
  return status;
}

export async function paymentLocked(
  tx: Tx,
  order: OrderRow,
  req: PaymentRequest,
  settings: OrderSettings,
  actor: string,
  path = "body",
): Promise<OrderRow> {
  const status = await notePayment(tx, order, req, actor, path);
  let o = await readOrder(tx, order.id);
  if (o.status === "cancelled" || o.status === "completed") return o;
  if (paymentSecured(status)) {
    if (settings.allocate_at === "payment")
      await commitStock(tx, o, actor, "payment secured (allocate_at: payment)");
    o = await readOrder(tx, o.id);
    if (o.status === "on_hold" && o.hold_reasons.some((r) => r.code === "payment")) {
      o = await releaseLocked(tx, o, ["payment"], settings, actor);
    }
  } else if (
    settings.require_payment_for_approval &&
    (req.status === "failed" || req.status === "voided") &&
    ["approved", "backordered", "preparing"].includes(o.status)
  ) {
    o = await holdLocked(tx, o, [{ code: "payment", detail: `payment ${req.status}` }], settings, actor);
  }
  return settle(tx, o.id, settings, actor);
}

export async function recordPayment(tx: Tx, key: string | number, req: PaymentRequest, opts: ActionOptions) {
  const settings = await settingsOf(tx, opts);
  return paymentLocked(tx, await lockOrder(tx, key), req, settings, opts.actor);
}
