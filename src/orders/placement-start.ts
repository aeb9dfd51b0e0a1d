import { sql } from "kysely";
import type { HoldReason, OrderStatus, PaymentKind, PaymentStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import type { FreeStock } from "../inventory/plan.js";
import { levelKey } from "../inventory/stock.js";
import { allowsSplit } from "./channels.js";
import { type HoldCause, placementChecks } from "./checks.js";
import { checkPayment, paymentSecured, paymentStatus } from "./payments.js";
import type { PlacementContext } from "./placement-context.js";
import type { PlaceOrderBody } from "./schema.js";
import { type OrderFacts, planTransition, type TimelineEntry } from "./transitions.js";

/**
 * An order's first moments, decided before anything is written and then
 * written in one statement: placed, its payment recorded, held for the
 * checks that failed or approved, each step with its timeline entry and
 * event as if the steps had run one by one. The same statement locks the
 * stock rows the order will hold from, after the order row exists, and
 * draws the ids of the order's lines, which are written with their
 * allocation decision once it is made (placement-stock).
 */

export interface Totals {
  subtotal: number;
  discount: number;
  shipping: number;
  tax: number;
  total: number;
}

export interface StartPlan {
  status: OrderStatus;
  heldFrom: OrderStatus | null;
  holdReasons: HoldReason[];
  paymentStatus: PaymentStatus;
  payment: { kind: PaymentKind; amount: number; reference: string | null } | null;
  /** Whether the stock is committed (allocated) at placement, and why. */
  commit: boolean;
  commitReason: string;
  entries: TimelineEntry[];
  /** Payloads without id and number, which the statement adds. */
  events: { type: string; payload: Record<string, unknown> }[];
}

/** The placement lifecycle of a new order as a pure function of the request and the settings. */
export function planStart(
  input: PlaceOrderBody,
  ctx: PlacementContext,
  totals: Totals,
  o: { actor: string; ordersLastHour: number },
): StartPlan {
  const { actor, ordersLastHour } = o;
  const { settings, channel } = ctx;
  const ref = { id: 0, number: "" };
  const entries: TimelineEntry[] = [
    { from: null, to: "received", action: "place", actor, reason: `placed via ${channel.code}` },
  ];
  const events: StartPlan["events"] = [
    {
      type: "order.placed",
      payload: {
        channel: channel.code,
        external_id: input.external_id ?? null,
        currency: input.currency,
        total: totals.total,
        lines: input.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: l.unit_price })),
      },
    },
  ];
  let payStatus: PaymentStatus = "pending";
  let payment: StartPlan["payment"] = null;
  const pay = input.payment;
  if (pay && pay.status !== "pending") {
    const event = { kind: pay.status, amount: pay.amount };
    checkPayment([], event, totals.total, "body.payment");
    payStatus = paymentStatus([event], totals.total);
    payment = { ...event, reference: pay.reference ?? null };
    const reason = `${pay.status} ${pay.amount} ${input.currency}: payment ${payStatus}`;
    entries.push({ from: "received", to: "received", action: "payment", actor, reason });
    events.push({
      type: "order.payment_recorded",
      payload: { kind: pay.status, amount: pay.amount, payment_status: payStatus },
    });
  }
  const secured = paymentSecured(payStatus);
  const causes: HoldCause[] = placementChecks(
    {
      total: totals.total,
      currency: input.currency,
      email: input.customer.email,
      shipping: input.shipping_address,
      billing: input.billing_address,
      paymentSecured: secured,
      ordersLastHour,
    },
    settings,
  );
  const stocked = input.lines.filter((l) => ctx.items.get(l.sku)!.kind !== "digital");
  const facts: OrderFacts = {
    status: "received",
    heldFrom: null,
    paymentSecured: secured,
    requirePayment: settings.require_payment_for_approval,
    allowSplit: allowsSplit(channel),
    backordered: 0,
    toShip: stocked.reduce((s, l) => s + l.quantity, 0),
    shipped: 0,
    openFulfilments: 0,
    undelivered: 0,
  };
  let status: OrderStatus = "received";
  let heldFrom: OrderStatus | null = null;
  let holdReasons: HoldReason[] = [];
  const step = causes.length
    ? planTransition(ref, "hold", facts, { actor, reason: causes.map((c) => c.detail).join("; ") })
    : settings.auto_approve
      ? planTransition(ref, "approve", facts, { actor, reason: "auto-approved: every check passed" })
      : null;
  if (step) {
    ({ to: status, heldFrom } = step);
    entries.push(step.entry);
    const { id: _id, number: _number, ...payload } = step.event.payload;
    events.push({ type: step.event.type, payload });
  }
  if (causes.length) {
    const at = new Date().toISOString();
    holdReasons = causes.map((c) => ({ ...c, actor, at }));
  }
  const commit =
    settings.allocate_at === "approval"
      ? status === "approved"
      : secured && settings.allocate_at === "payment";
  const commitReason =
    settings.allocate_at === "approval"
      ? "approved (allocate_at: approval)"
      : "payment secured (allocate_at: payment)";
  return {
    status,
    heldFrom,
    holdReasons,
    paymentStatus: payStatus,
    payment,
    commit,
    commitReason,
    entries,
    events,
  };
}

export interface Started {
  orderId: number;
  number: string;
  /** Line ids (drawn, not yet written) by line number. */
  lineIds: Map<number, number>;
  /** Free units of the locked rows. */
  free: FreeStock;
  /** The transaction's timestamp, as a timestamptz column and as JSON gives it. */
  now: Date;
  nowJson: string;
}

/**
 * Writes the plan: the order, its timeline, events and payment, then
 * locks the balance rows of `lockVariantIds` in (variant, location) order —
 * only once the order row is in, so the lock order stays order → stock. Null
 * when (channel, external_id) exists: the unique index decides, and a
 * concurrent duplicate waits here for the first to commit.
 */
export async function writeStart(
  tx: Tx,
  w: {
    input: PlaceOrderBody;
    channelId: number;
    totals: Totals;
    placedAt: Date;
    slaDueAt: Date;
    actor: string;
    plan: StartPlan;
    lockVariantIds: number[];
  },
): Promise<Started | null> {
  const { input, plan, totals, actor } = w;
  const pay = plan.payment ? [plan.payment] : [];
  // Counts that size the plan are sub-selects, so every execution is costed like the generic plan and
  // PostgreSQL keeps that plan rather than planning each placement anew.
  const found = await sql<{
    id: number;
    number: string;
    now: Date;
    now_json: string;
    line_ids: number[];
    free: [number, number, number][];
  }>`
    with ins as (
      insert into orders (channel_id, external_id, status, held_from, hold_reasons, payment_status, currency,
        customer_email, customer_name, customer_phone, shipping_address, billing_address, subtotal, discount_total,
        shipping_total, tax_total, total, placed_at, sla_due_at, stock_committed_at, note, actor)
      values (${w.channelId}, ${input.external_id ?? null}, ${plan.status}, ${plan.heldFrom},
        ${JSON.stringify(plan.holdReasons)}::jsonb, ${plan.paymentStatus}, ${input.currency}, ${input.customer.email},
        ${input.customer.name ?? null}, ${input.customer.phone ?? null}, ${JSON.stringify(input.shipping_address)}::jsonb,
        ${input.billing_address ? JSON.stringify(input.billing_address) : null}::jsonb, ${totals.subtotal},
        ${totals.discount}, ${totals.shipping}, ${totals.tax}, ${totals.total}, ${w.placedAt}::timestamptz,
        ${w.slaDueAt}::timestamptz, case when ${plan.commit}::boolean then now() end, ${input.note ?? null}, ${actor})
      on conflict (channel_id, external_id) do nothing
      returning id, number
    ), entries as (
      insert into order_timeline (order_id, from_status, to_status, action, actor, reason)
      select ins.id, u.f, u.t, u.a, ${actor}, u.r
      from ins, unnest(${plan.entries.map((e) => e.from)}::text[], ${plan.entries.map((e) => e.to)}::text[],
        ${plan.entries.map((e) => e.action)}::text[], ${plan.entries.map((e) => e.reason)}::text[])
        with ordinality as u(f, t, a, r, n)
      order by u.n
    ), events as (
      insert into outbox_events (type, payload)
      select u.t, u.p || jsonb_build_object('id', ins.id, 'number', ins.number)
      from ins, unnest(${plan.events.map((e) => e.type)}::text[], ${plan.events.map((e) => JSON.stringify(e.payload))}::jsonb[])
        with ordinality as u(t, p, n)
      order by u.n
    ), paid as (
      insert into order_payments (order_id, kind, amount, reference, actor)
      select ins.id, u.k, u.a, u.r, ${actor}
      from ins, unnest(${pay.map((p) => p.kind)}::text[], ${pay.map((p) => p.amount)}::bigint[],
        ${pay.map((p) => p.reference)}::text[]) as u(k, a, r)
    ), locked as (
      select variant_id, location_id, on_hand - reserved - allocated - safety_stock as free
      from inventory_levels
      where variant_id = any((select ${[...new Set(w.lockVariantIds)]}::bigint[])::bigint[]) and exists (select from ins)
      order by variant_id, location_id for update
    )
    select ins.id, ins.number, now() as now, to_json(now()) as now_json,
      (select json_agg(nextval(pg_get_serial_sequence('order_lines', 'id')) order by g)
       from generate_series(1, (select ${input.lines.length}::int)) g) as line_ids,
      (select coalesce(json_agg(json_build_array(k.variant_id, k.location_id, k.free)), '[]') from locked k) as free
    from ins`.execute(tx);
  const row = found.rows[0];
  if (!row) return null;
  return {
    orderId: row.id,
    number: row.number,
    lineIds: new Map(row.line_ids.map((id, i) => [i + 1, id])),
    free: new Map(row.free.map(([v, l, f]) => [levelKey(v, l), f])),
    now: row.now,
    nowJson: row.now_json,
  };
}
