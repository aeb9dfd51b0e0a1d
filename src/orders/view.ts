import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { DecisionReason, HoldReason, OrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";
import { type Counts, countColumns, factsFrom, type OrderRow, orderIdOf } from "./core.js";
import { nextIncoming } from "./incoming.js";
import { type FulfilmentView, fulfilmentViews } from "./picklists.js";
import { type OrderSettingsPatch, settingsFrom } from "./settings.js";
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
  /** Units a supplier is to ship straight to the customer (drop-ship). */
  dropship: number;
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

interface LineRow extends Omit<OrderLineView, "expected_at" | "expected_from"> {
  variant_id: number;
  components: number[] | null;
}
interface AllocationRow {
  line_no: number;
  sku: string;
  for_sku: string | null;
  location: string;
  reserved: number;
  allocated: number;
  shipped: number;
  released: number;
  reasons: DecisionReason[];
}
type Row = Omit<OrderRow, "stock_committed_at"> & {
  channel: string;
  external_id: string | null;
  customer_email: string;
  customer_name: string | null;
  customer_phone: string | null;
  shipping_address: Record<string, string>;
  billing_address: Record<string, string> | null;
  subtotal: number;
  discount_total: number;
  shipping_total: number;
  tax_total: number;
  placed_at: Date;
  sla_due_at: Date;
  stock_committed_at: Date | null;
  note: string | null;
  lines: LineRow[];
  allocations: AllocationRow[];
  payments: { kind: string; amount: number; reference: string | null; actor: string; created_at: string }[];
  timeline: {
    from_status: string | null;
    to_status: string;
    action: string;
    actor: string;
    reason: string | null;
    at: string;
  }[];
  fulfillment_ids: number[];
  settings_value: OrderSettingsPatch | null;
} & Counts;

/**
 * The order with everything on it in one query (inside a placement it runs
 * while stock rows are locked, so round trips count), plus the counts the
 * allowed actions come from, and fulfilments and incoming stock when there are any.
 */
export async function getOrderView(db: DB | Tx, key: string | number): Promise<OrderView> {
  const id = typeof key === "number" || /^\d{1,15}$/.test(key) ? Number(key) : await orderIdOf(db, key);
  const found = await sql<Row>`
    select o.id, o.number, c.code as channel, o.channel_id, o.external_id, o.status, o.held_from, o.hold_reasons,
      o.payment_status, o.fulfillment_status, o.currency, o.customer_email, o.customer_name, o.customer_phone,
      o.shipping_address, o.billing_address, o.subtotal, o.discount_total, o.shipping_total, o.tax_total, o.total,
      o.placed_at, o.sla_due_at, o.stock_committed_at, o.note,
      coalesce((select json_agg(x order by x.line_no) from (
        select l.line_no, l.sku, l.title, l.kind, l.quantity, l.unit_price, l.cancelled, l.backordered, l.dropship, l.decision,
          l.variant_id,
          coalesce((select sum((a.reserved + a.allocated) / a.per_unit) from order_allocations a
                    where a.line_id = l.id and a.counts_units), 0)::int as held,
          coalesce((select sum(a.shipped / a.per_unit) from order_allocations a
                    where a.line_id = l.id and a.counts_units), 0)::int as shipped,
          (select json_agg(bc.component_variant_id) from variants bv
             join bundle_components bc on bc.product_id = bv.product_id
           where l.kind = 'bundle' and bv.id = l.variant_id) as components
        from order_lines l where l.order_id = o.id) x), '[]') as lines,
      coalesce((select json_agg(x order by x.line_no, x.priority, x.location_id, x.sku) from (
        select l.line_no, v.sku, case when l.kind = 'bundle' then l.sku end as for_sku, loc.code as location,
          loc.priority, a.location_id, a.reserved, a.allocated, a.shipped, a.released, a.reasons
        from order_allocations a join order_lines l on l.id = a.line_id join variants v on v.id = a.variant_id
        join locations loc on loc.id = a.location_id where a.order_id = o.id) x), '[]') as allocations,
      coalesce((select json_agg(p order by p.id) from order_payments p where p.order_id = o.id), '[]') as payments,
      coalesce((select json_agg(t order by t.id) from order_timeline t where t.order_id = o.id), '[]') as timeline,
      coalesce((select json_agg(f.id order by f.id) from fulfillments f where f.order_id = o.id), '[]')
        as fulfillment_ids,
      (select value from settings where key = 'orders') as settings_value,
      ${countColumns(sql`o.id`)}
    from orders o join channels c on c.id = o.channel_id where o.id = ${id}`.execute(db);
  const row = found.rows[0];
  if (!row) throw new NotFound("order", key);
  const settings = settingsFrom(row.settings_value);
  const waiting = row.lines.filter((l) => l.backordered > 0);
  const incoming = waiting.length
    ? await nextIncoming(
        db,
        waiting.flatMap((l) => l.components ?? [l.variant_id]),
        { transitDays: settings.transfer_transit_days },
      )
    : new Map();
  const expectation = (l: LineRow) => {
    const parts = (l.components ?? [l.variant_id]).map((v) => incoming.get(v));
    if (parts.some((p) => !p?.expectedAt)) return { at: null, from: parts.find((p) => p)?.source ?? null };
    const last = parts.reduce((a, b) => (b!.expectedAt!.getTime() > a!.expectedAt!.getTime() ? b : a))!;
    return { at: last.expectedAt!.toISOString(), from: last.source };
  };
  const facts = factsFrom(row, settings, row);
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
    lines: row.lines.map((l) => {
      const { variant_id: _v, components: _c, ...rest } = l;
      const e = l.backordered > 0 ? expectation(l) : null;
      return { ...rest, expected_at: e?.at ?? null, expected_from: e?.from ?? null };
    }),
    allocations: row.allocations.flatMap((a) =>
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
    fulfillments: await fulfilmentViews(db, row.fulfillment_ids),
    payments: row.payments.map((p) => ({
      status: p.kind,
      amount: p.amount,
      reference: p.reference,
      actor: p.actor,
      at: iso(p.created_at)!,
    })),
    timeline: row.timeline.map((t) => ({
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
