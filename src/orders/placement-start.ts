import { sql } from "kysely";
import type { HoldReason, OrderStatus, PaymentKind, PaymentStatus } from "../db/schema.js";
import { jsonbArray } from "../db/statements.js";
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
  /** Free units of the rows read (shared by the orders written together). */
  free: FreeStock;
  /** The transaction's timestamp, as a timestamptz column and as JSON gives it. */
  now: Date;
  nowJson: string;
}

/** One order to write: what the request said and what placement decided for it. */
export interface StartWrite {
  input: PlaceOrderBody;
  channelId: number;
  totals: Totals;
  placedAt: Date;
  slaDueAt: Date;
  actor: string;
  plan: StartPlan;
}

/**
 * Writes the plans of one or more orders in one statement: the orders, their
 * timelines, events and payments, then reads the free units of the balance
 * rows of `lockVariantIds` — with `lock`, locking them in (variant, location)
 * order, and only once the order rows are in, so the lock order stays
 * order → stock. An order whose (channel,
 * external_id) exists is not written and gets null: the unique index
 * decides, and a concurrent duplicate waits here for the first to commit.
 */
export async function writeStarts(
  tx: Tx,
  ws: StartWrite[],
  lockVariantIds: number[],
  o: { lock: boolean } = { lock: true },
): Promise<(Started | null)[]> {
  const col = <T>(f: (w: StartWrite) => T) => ws.map(f);
  const each = <T>(f: (w: StartWrite) => T[]) => ws.flatMap((w, i) => f(w).map((x) => ({ n: i + 1, x })));
  const entries = each((w) => w.plan.entries);
  const events = each((w) => w.plan.events);
  const pays = each((w) => (w.plan.payment ? [{ ...w.plan.payment, actor: w.actor }] : []));
  // Array sizes are sub-selects, so every execution is costed like the generic plan and PostgreSQL
  // keeps that plan rather than planning each placement anew.
  const found = await sql<{
    ids: number[];
    written: [number, string][];
    now: Date;
    now_json: string;
    line_ids: number[];
    free: [number, number, number][];
  }>`
    with r as (
      select * from unnest(
        ${col((w) => w.channelId)}::bigint[], ${col((w) => w.input.external_id ?? null)}::text[],
        ${col((w) => w.plan.status)}::text[], ${col((w) => w.plan.heldFrom)}::text[],
        ${jsonbArray(col((w) => w.plan.holdReasons))}, ${col((w) => w.plan.paymentStatus)}::text[],
        ${col((w) => w.input.currency)}::text[], ${col((w) => w.input.customer.email)}::text[],
        ${col((w) => w.input.customer.name ?? null)}::text[], ${col((w) => w.input.customer.phone ?? null)}::text[],
        ${jsonbArray(col((w) => w.input.shipping_address))},
        ${jsonbArray(col((w) => w.input.billing_address))}, ${col((w) => w.totals.subtotal)}::bigint[],
        ${col((w) => w.totals.discount)}::bigint[], ${col((w) => w.totals.shipping)}::bigint[],
        ${col((w) => w.totals.tax)}::bigint[], ${col((w) => w.totals.total)}::bigint[],
        ${col((w) => w.placedAt.toISOString())}::timestamptz[], ${col((w) => w.slaDueAt.toISOString())}::timestamptz[],
        ${col((w) => w.plan.commit)}::boolean[], ${col((w) => w.input.note ?? null)}::text[],
        ${col((w) => w.actor)}::text[]
      ) with ordinality as r(channel_id, external_id, status, held_from, hold_reasons, payment_status, currency,
        customer_email, customer_name, customer_phone, shipping_address, billing_address, subtotal, discount_total,
        shipping_total, tax_total, total, placed_at, sla_due_at, committed, note, actor, n)
    ), ids as materialized (
      select r.n, nextval(pg_get_serial_sequence('orders', 'id')) as id from r order by r.n
    ), ins as (
      insert into orders (id, channel_id, external_id, status, held_from, hold_reasons, payment_status, currency,
        customer_email, customer_name, customer_phone, shipping_address, billing_address, subtotal, discount_total,
        shipping_total, tax_total, total, placed_at, sla_due_at, stock_committed_at, note, actor)
      overriding system value
      select ids.id, r.channel_id, r.external_id, r.status, r.held_from, r.hold_reasons, r.payment_status, r.currency,
        r.customer_email, r.customer_name, r.customer_phone, r.shipping_address, r.billing_address, r.subtotal,
        r.discount_total, r.shipping_total, r.tax_total, r.total, r.placed_at, r.sla_due_at,
        case when r.committed then now() end, r.note, r.actor
      from r join ids on ids.n = r.n
      order by r.n
      on conflict (channel_id, external_id) do nothing
      returning id, number
    ), mine as (
      select ids.n, ins.id, ins.number from ins join ids on ids.id = ins.id
    ), entries as (
      insert into order_timeline (order_id, from_status, to_status, action, actor, reason)
      select mine.id, u.f, u.t, u.a, r.actor, u.r
      from unnest(${entries.map((e) => e.n)}::int[], ${entries.map((e) => e.x.from)}::text[],
        ${entries.map((e) => e.x.to)}::text[], ${entries.map((e) => e.x.action)}::text[],
        ${entries.map((e) => e.x.reason)}::text[]) with ordinality as u(n, f, t, a, r, k)
      join mine on mine.n = u.n join r on r.n = u.n
      order by u.k
    ), events as (
      insert into outbox_events (type, payload)
      select u.t, u.p || jsonb_build_object('id', mine.id, 'number', mine.number)
      from unnest(${events.map((e) => e.n)}::int[], ${events.map((e) => e.x.type)}::text[],
        ${jsonbArray(events.map((e) => e.x.payload))}) with ordinality as u(n, t, p, k)
      join mine on mine.n = u.n
      order by u.k
    ), paid as (
      insert into order_payments (order_id, kind, amount, reference, actor)
      select mine.id, u.k, u.a, u.r, u.actor
      from unnest(${pays.map((p) => p.n)}::int[], ${pays.map((p) => p.x.kind)}::text[],
        ${pays.map((p) => p.x.amount)}::bigint[], ${pays.map((p) => p.x.reference)}::text[],
        ${pays.map((p) => p.x.actor)}::text[]) with ordinality as u(n, k, a, r, actor, o)
      join mine on mine.n = u.n
      order by u.o
    ), locked as (
      select variant_id, location_id, on_hand - reserved - allocated - safety_stock as free
      from inventory_levels
      where variant_id = any((select ${[...new Set(lockVariantIds)]}::bigint[])::bigint[]) and exists (select from ins)
      order by variant_id, location_id ${o.lock ? sql`for update` : sql``}
    )
    select (select json_agg(id order by n) from ids) as ids,
      coalesce((select json_agg(json_build_array(id, number)) from ins), '[]') as written,
      now() as now, to_json(now()) as now_json,
      (select json_agg(nextval(pg_get_serial_sequence('order_lines', 'id')) order by g)
       from generate_series(1, (select ${ws.reduce((s, w) => s + w.input.lines.length, 0)}::int)) g) as line_ids,
      (select coalesce(json_agg(json_build_array(k.variant_id, k.location_id, k.free)), '[]') from locked k) as free`.execute(
    tx,
  );
  const row = found.rows[0];
  const numbers = new Map(row.written);
  const free: FreeStock = new Map(row.free.map(([v, l, f]) => [levelKey(v, l), f]));
  let next = 0;
  return ws.map((w, i) => {
    const ids = row.line_ids.slice(next, next + w.input.lines.length);
    next += w.input.lines.length;
    const orderId = row.ids[i];
    const number = numbers.get(orderId);
    if (number === undefined) return null;
    return {
      orderId,
      number,
      lineIds: new Map(ids.map((id, k) => [k + 1, id])),
      free,
      now: row.now,
      nowJson: row.now_json,
    };
  });
}
