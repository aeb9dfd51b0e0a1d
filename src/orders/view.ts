import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { DecisionReason, HoldReason, OrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";
import { factsOf, type OrderRow, orderIdOf } from "./core.js";
import { nextIncoming } from "./incoming.js";
import { type FulfilmentView, fulfilmentViews } from "./picklists.js";
import { readOrderSettings } from "./settings.js";
import { allowedActions } from "./transitions.js";

/** An order as the API shows it: lines, where their stock is held and why, fulfilments, payments, timeline. */

export const OPEN_STATUSES = [
  "received",
  "on_hold",
  "approved",
  "backordered",
  "preparing",
  "partially_shipped",
];

export interface OrderLineView {
  line_no: number;
  sku: string;
  title: string | null;
  kind: string;
  quantity: number;
  unit_price: number;
  cancelled: number;
  backordered: number;
  held: number;
  shipped: number;
  /** For backordered units: when more stock is expected, and from where. */
  expected_at: string | null;
  expected_from: string | null;
  decision: DecisionReason[];
}

export interface AllocationView {
  line_no: number;
  sku: string;
  for_sku: string | null;
  location: string;
  quantity: number;
  state: "reserved" | "allocated" | "shipped" | "released";
  reasons: DecisionReason[];
}

export interface OrderView {
  id: number;
  number: string;
  channel: string;
  external_id: string | null;
  status: OrderStatus;
  held_from: string | null;
  hold_reasons: HoldReason[];
  payment_status: string;
  fulfillment_status: string;
  currency: string;
  customer: { email: string; name: string | null; phone: string | null };
  shipping_address: Record<string, string>;
  billing_address: Record<string, string> | null;
  subtotal: number;
  discount_total: number;
  shipping_total: number;
  tax_total: number;
  total: number;
  placed_at: string;
  sla_due_at: string;
  overdue: boolean;
  stock_committed_at: string | null;
  note: string | null;
  lines: OrderLineView[];
  allocations: AllocationView[];
  fulfillments: FulfilmentView[];
  payments: { status: string; amount: number; reference: string | null; actor: string; at: string }[];
  timeline: {
    from: string | null;
    to: string;
    action: string;
    actor: string;
    reason: string | null;
    at: string;
  }[];
  allowed_actions: string[];
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export async function getOrderView(db: DB | Tx, key: string | number): Promise<OrderView> {
  const id = await orderIdOf(db, key);
  const row = await db
    .selectFrom("orders as o")
    .innerJoin("channels as c", "c.id", "o.channel_id")
    .selectAll("o")
    .select("c.code as channel")
    .where("o.id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFound("order", key);
  const [lines, allocations, payments, timeline, fulfilmentIds, settings] = await Promise.all([
    sql<OrderLineView & { id: number; variant_id: number; components: number[] | null }>`
      select l.id, l.line_no, l.sku, l.title, l.kind, l.quantity, l.unit_price, l.cancelled, l.backordered, l.decision,
        l.variant_id,
        coalesce((select sum((a.reserved + a.allocated) / a.per_unit) from order_allocations a
                  where a.line_id = l.id and a.counts_units), 0)::int as held,
        coalesce((select sum(a.shipped / a.per_unit) from order_allocations a
                  where a.line_id = l.id and a.counts_units), 0)::int as shipped,
        (select array_agg(bc.component_variant_id) from variants bv join bundle_components bc on bc.product_id = bv.product_id
          where l.kind = 'bundle' and bv.id = l.variant_id) as components
      from order_lines l where l.order_id = ${id} order by l.line_no`.execute(db),
    sql<{
      line_no: number;
      sku: string;
      for_sku: string | null;
      location: string;
      reserved: number;
      allocated: number;
      shipped: number;
      released: number;
      reasons: DecisionReason[];
    }>`
      select l.line_no, v.sku, case when l.kind = 'bundle' then l.sku end as for_sku, loc.code as location,
        a.reserved, a.allocated, a.shipped, a.released, a.reasons
      from order_allocations a join order_lines l on l.id = a.line_id join variants v on v.id = a.variant_id
      join locations loc on loc.id = a.location_id
      where a.order_id = ${id} order by l.line_no, loc.priority, loc.id, v.sku`.execute(db),
    db.selectFrom("order_payments").selectAll().where("order_id", "=", id).orderBy("id").execute(),
    db.selectFrom("order_timeline").selectAll().where("order_id", "=", id).orderBy("id").execute(),
    db.selectFrom("fulfillments").select("id").where("order_id", "=", id).orderBy("id").execute(),
    readOrderSettings(db),
  ]);
  const waiting = lines.rows.filter((l) => l.backordered > 0);
  const incoming = await nextIncoming(
    db,
    waiting.flatMap((l) => l.components ?? [l.variant_id]),
    { transitDays: settings.transfer_transit_days },
  );
  const expectation = (l: (typeof waiting)[number]) => {
    const parts = (l.components ?? [l.variant_id]).map((v) => incoming.get(v));
    if (parts.some((p) => !p?.expectedAt)) return { at: null, from: parts.find((p) => p)?.source ?? null };
    const last = parts.reduce((a, b) => (b!.expectedAt!.getTime() > a!.expectedAt!.getTime() ? b : a))!;
    return { at: last.expectedAt!.toISOString(), from: last.source };
  };
  const facts = await factsOf(db, row as unknown as OrderRow, settings);
  return {
    id: row.id,
    number: row.number,
    channel: row.channel,
    external_id: row.external_id,
    status: row.status,
    held_from: row.held_from,
    hold_reasons: row.hold_reasons,
    payment_status: row.payment_status,
    fulfillment_status: row.fulfillment_status,
    currency: row.currency,
    customer: { email: row.customer_email, name: row.customer_name, phone: row.customer_phone },
    shipping_address: row.shipping_address,
    billing_address: row.billing_address,
    subtotal: row.subtotal,
    discount_total: row.discount_total,
    shipping_total: row.shipping_total,
    tax_total: row.tax_total,
    total: row.total,
    placed_at: iso(row.placed_at)!,
    sla_due_at: iso(row.sla_due_at)!,
    overdue: OPEN_STATUSES.includes(row.status) && new Date(row.sla_due_at).getTime() < Date.now(),
    stock_committed_at: iso(row.stock_committed_at),
    note: row.note,
    lines: lines.rows.map(({ id: _id, variant_id: _v, components: _c, ...l }) => {
      const e = l.backordered > 0 ? expectation({ ...l, id: _id, variant_id: _v, components: _c }) : null;
      return { ...l, expected_at: e?.at ?? null, expected_from: e?.from ?? null };
    }),
    allocations: allocations.rows.flatMap((a) =>
      (["reserved", "allocated", "shipped", "released"] as const)
        .filter((state) => a[state] > 0)
        .map((state) => ({
          line_no: a.line_no,
          sku: a.sku,
          for_sku: a.for_sku,
          location: a.location,
          quantity: a[state],
          state,
          reasons: a.reasons,
        })),
    ),
    fulfillments: await fulfilmentViews(
      db,
      fulfilmentIds.map((f) => f.id),
    ),
    payments: payments.map((p) => ({
      status: p.kind,
      amount: p.amount,
      reference: p.reference,
      actor: p.actor,
      at: iso(p.created_at)!,
    })),
    timeline: timeline.map((t) => ({
      from: t.from_status,
      to: t.to_status,
      action: t.action,
      actor: t.actor,
      reason: t.reason,
      at: iso(t.at)!,
    })),
    allowed_actions: allowedActions(facts),
  };
}
