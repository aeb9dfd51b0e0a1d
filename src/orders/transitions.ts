import { sql } from "kysely";
import type { OrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { InvalidTransition } from "../http/errors.js";

/**
 * The order state machine as one table. Each row names an action, the
 * statuses it may start from, where it leads, the event it announces, and a
 * guard that returns why it refuses (or null). Operator actions come in over
 * the API; system actions are consequences Keel draws itself (stock arrived,
 * a fulfilment shipped). Nothing else changes an order's status.
 */

export type OrderAction =
  | "approve"
  | "hold"
  | "release"
  | "cancel"
  | "complete"
  | "await_stock"
  | "stock_filled"
  | "prepare"
  | "unprepare"
  | "ship_part"
  | "ship_all";

/** What the guards look at, read once under the order's row lock. */
export interface OrderFacts {
  status: OrderStatus;
  heldFrom: OrderStatus | null;
  paymentSecured: boolean;
  requirePayment: boolean;
  allowSplit: boolean;
  /** Line units waiting for stock. */
  backordered: number;
  /** Stocked line units neither shipped nor cancelled (backordered ones included). */
  toShip: number;
  /** Line units shipped. */
  shipped: number;
  /** Fulfilments pending, picking or packed. */
  openFulfilments: number;
  /** Fulfilments shipped but not yet delivered. */
  undelivered: number;
}

export interface TransitionRule {
  action: OrderAction;
  by: "operator" | "system";
  from: readonly OrderStatus[];
  /** "previous": back to the status the order was held from. */
  to: OrderStatus | "previous";
  event: string;
  guard?: (f: OrderFacts) => string | null;
}

const OPEN: OrderStatus[] = ["received", "approved", "backordered", "preparing", "partially_shipped"];

export const ORDER_TRANSITIONS: readonly TransitionRule[] = [
  {
    action: "approve",
    by: "operator",
    from: ["received"],
    to: "approved",
    event: "order.approved",
    guard: (f) =>
      f.requirePayment && !f.paymentSecured
        ? "payment is required before approval (setting require_payment_for_approval): record an authorized or paid payment covering the total first"
        : null,
  },
  { action: "hold", by: "operator", from: [...OPEN, "on_hold"], to: "on_hold", event: "order.held" },
  {
    action: "release",
    by: "operator",
    from: ["on_hold"],
    to: "previous",
    event: "order.released",
  },
  {
    action: "cancel",
    by: "operator",
    from: ["received", "on_hold", "approved", "backordered", "preparing"],
    to: "cancelled",
    event: "order.cancelled",
    guard: (f) =>
      f.shipped > 0
        ? "units of this order have shipped: cancel the remaining lines, or start a return (POST /v1/returns)"
        : null,
  },
  {
    action: "complete",
    by: "operator",
    from: ["shipped", "approved"],
    to: "completed",
    event: "order.completed",
    guard: (f) => (f.status === "approved" && f.toShip > 0 ? `${f.toShip} units still have to ship` : null),
  },
  {
    action: "await_stock",
    by: "system",
    from: ["approved"],
    to: "backordered",
    event: "order.backordered",
    guard: (f) => (f.backordered > 0 ? null : "nothing is backordered"),
  },
  {
    action: "stock_filled",
    by: "system",
    from: ["backordered"],
    to: "approved",
    event: "order.backorder_filled",
    guard: (f) => (f.backordered === 0 ? null : `${f.backordered} units are still backordered`),
  },
  {
    action: "prepare",
    by: "system",
    from: ["approved", "backordered"],
    to: "preparing",
    event: "order.preparing",
    guard: (f) =>
      f.status === "backordered" && !f.allowSplit
        ? "the channel ships orders whole: wait until the backordered units arrive"
        : null,
  },
  {
    action: "unprepare",
    by: "system",
    from: ["preparing"],
    to: "approved",
    event: "order.preparation_stopped",
    guard: (f) => (f.openFulfilments === 0 && f.shipped === 0 ? null : "fulfilments are open"),
  },
  {
    action: "ship_part",
    by: "system",
    from: ["preparing"],
    to: "partially_shipped",
    event: "order.partially_shipped",
    guard: (f) => (f.shipped > 0 && f.toShip > 0 ? null : "not partly shipped"),
  },
  {
    action: "ship_all",
    by: "system",
    from: ["preparing", "partially_shipped"],
    to: "shipped",
    event: "order.shipped",
    guard: (f) => (f.shipped > 0 && f.toShip === 0 ? null : "units are still to ship"),
  },
];

/** Why an action is impossible from a status no rule starts from, where a pointer helps. */
const HINTS: Partial<Record<OrderAction, Partial<Record<OrderStatus, string>>>> = {
  cancel: {
    partially_shipped:
      "units of this order have shipped: cancel the remaining lines (POST /v1/orders/{id}/cancel with lines), or start a return (POST /v1/returns)",
    shipped: "the order has shipped: start a return instead (POST /v1/returns)",
    completed: "the order is completed: start a return instead (POST /v1/returns)",
    cancelled: "the order is already cancelled",
  },
  release: { cancelled: "the order is cancelled" },
};

/** Operator actions open to an order right now. */
export function allowedActions(f: OrderFacts): OrderAction[] {
  return ORDER_TRANSITIONS.filter(
    (r) => r.by === "operator" && r.from.includes(f.status) && !r.guard?.(f),
  ).map((r) => r.action);
}

/** The rule an action follows from here, or the InvalidTransition explaining why not. */
export function check(action: OrderAction, f: OrderFacts): TransitionRule | InvalidTransition {
  const rule = ORDER_TRANSITIONS.find((r) => r.action === action && r.from.includes(f.status));
  const refusal = rule ? rule.guard?.(f) : (HINTS[action]?.[f.status] ?? null);
  if (rule && !refusal) return rule;
  const allowed = allowedActions(f);
  const why = refusal ?? `an order in status ${f.status} cannot ${action}`;
  return new InvalidTransition(
    "order",
    f.status,
    action,
    allowed,
    `${why}; allowed now: ${allowed.join(", ") || "none"}`,
  );
}

export interface OrderRef {
  id: number;
  number: string;
}

/** A transition decided but not yet written: the status change, its timeline entry and its event. */
export interface PlannedTransition {
  from: OrderStatus;
  to: OrderStatus;
  heldFrom: OrderStatus | null;
  entry: TimelineEntry;
  event: { type: string; payload: Record<string, unknown> };
}

export interface TimelineEntry {
  from: string | null;
  to: string;
  action: string;
  actor: string;
  reason: string | null;
}

/** What an action does from these facts (InvalidTransition when refused), without writing anything. */
export function planTransition(
  order: OrderRef,
  action: OrderAction,
  facts: OrderFacts,
  opts: { actor: string; reason?: string | null },
): PlannedTransition {
  const rule = check(action, facts);
  if (rule instanceof InvalidTransition) throw rule;
  const from = facts.status;
  const to = rule.to === "previous" ? (facts.heldFrom ?? "received") : rule.to;
  const heldFrom = to === "on_hold" ? (from === "on_hold" ? facts.heldFrom : from) : null;
  const reason = opts.reason ?? null;
  return {
    from,
    to,
    heldFrom,
    entry: { from, to, action, actor: opts.actor, reason },
    event: {
      type: rule.event,
      payload: { id: order.id, number: order.number, from, to, actor: opts.actor, reason },
    },
  };
}

/**
 * Moves the order along one rule: a conditional update (the status must still
 * be the one the facts were read with), a timeline entry and an outbox event,
 * all in the caller's transaction. Throws InvalidTransition when refused.
 */
export async function transition(
  tx: Tx,
  order: OrderRef,
  action: OrderAction,
  facts: OrderFacts,
  opts: { actor: string; reason?: string | null },
): Promise<OrderStatus> {
  const { from, to, heldFrom, entry, event } = planTransition(order, action, facts, opts);
  // the update, its timeline entry and its event in one round trip; nothing is written if the status moved
  const updated = await sql<{ id: number }>`
    with up as (
      update orders set status = ${to}, held_from = ${heldFrom}, updated_at = now(),
        hold_reasons = case when ${to} = 'on_hold' then hold_reasons else '[]'::jsonb end
      where id = ${order.id} and status = ${from} returning id
    ), entry as (
      insert into order_timeline (order_id, from_status, to_status, action, actor, reason)
      select up.id, ${entry.from}, ${entry.to}, ${entry.action}, ${entry.actor}, ${entry.reason} from up
    ), event as (
      insert into outbox_events (type, payload) select ${event.type}, ${JSON.stringify(event.payload)}::jsonb from up
    )
    select id from up`.execute(tx);
  if (updated.rows.length === 0) throw new Error(`order ${order.id} changed status under its row lock`);
  return to;
}

/** A timeline entry; also used for things that happen without a status change (a payment, a fill). */
export async function record(tx: Tx, orderId: number, e: TimelineEntry): Promise<void> {
  await tx
    .insertInto("order_timeline")
    .values({
      order_id: orderId,
      from_status: e.from,
      to_status: e.to,
      action: e.action,
      actor: e.actor,
      reason: e.reason,
    })
    .execute();
}
