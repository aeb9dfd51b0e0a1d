import type { PaymentStatus } from "../db/schema.js";
import { factsFrom } from "./core.js";
import type { PlacementContext } from "./placement-context.js";
import type { Started, StartPlan, Totals } from "./placement-start.js";
import type { HeldStock } from "./placement-stock.js";
import type { PlaceOrderBody } from "./schema.js";
import type { TimelineEntry } from "./transitions.js";
import { allowedActions } from "./transitions.js";
import { OPEN_STATUSES, type OrderView } from "./view.js";

/**
 * The order view of a just-placed order from what placement wrote, so the
 * response costs no read: the same body getOrderView gives afterwards, byte
 * for byte (the orders tests compare them). Orders whose view needs more
 * than placement knows return null and are read back: backordered lines
 * (their expected dates come from incoming stock) and bundles of several
 * components (their allocation rows sort by SKU in the database's collation).
 */

export interface Placed {
  input: PlaceOrderBody;
  ctx: PlacementContext;
  totals: Totals;
  placedAt: Date;
  slaDueAt: Date;
  plan: StartPlan;
  started: Started;
  held: HeldStock;
  /** The allocate entry on the timeline, when the stock was committed at placement with units held. */
  committed: TimelineEntry | null;
  stockCommitted: boolean;
  bucket: "reserved" | "allocated";
  actor: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

/** An object's keys in the order jsonb keeps them: shorter first, then bytewise. */
function jsonbOrder<T extends Record<string, unknown>>(o: T): T {
  const bytes = (k: string) => Buffer.from(k);
  const keys = Object.keys(o).sort((a, b) => a.length - b.length || Buffer.compare(bytes(a), bytes(b)));
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as T;
}

export function placedView(p: Placed): OrderView | null {
  const { input, ctx, totals, plan, started, held } = p;
  if (held.backordered > 0 || ctx.dropship.size > 0) return null;
  const items = input.lines.map((l) => ctx.items.get(l.sku)!);
  if (items.some((i) => i.kind === "bundle" && i.components.length > 1)) return null;

  const at = iso(started.nowJson);
  const lineNoById = new Map([...started.lineIds].map(([n, id]) => [id, n]));
  const heldUnits = new Map<number, number>();
  for (const r of held.rows) {
    if (!r.countsUnits) continue;
    const n = lineNoById.get(r.lineId)!;
    heldUnits.set(n, (heldUnits.get(n) ?? 0) + Math.trunc(r.quantity / r.perUnit));
  }
  const lines = input.lines.map((l, i) => {
    const n = i + 1;
    const item = items[i];
    return {
      line_no: n,
      sku: item.sku,
      title: l.title ?? null,
      kind: item.kind,
      quantity: l.quantity,
      unit_price: l.unit_price,
      cancelled: 0,
      backordered: 0,
      dropship: 0,
      held: heldUnits.get(n) ?? 0,
      shipped: 0,
      expected_at: null,
      expected_from: null,
      decision: held.lines.get(n)?.decision ?? [],
    };
  });
  const allocations = held.rows
    .map((r) => ({ r, n: lineNoById.get(r.lineId)! }))
    .sort(
      (a, b) =>
        a.n - b.n ||
        a.r.location.priority - b.r.location.priority ||
        a.r.location.id - b.r.location.id ||
        (a.r.sku < b.r.sku ? -1 : a.r.sku > b.r.sku ? 1 : 0),
    )
    .filter(({ r }) => r.quantity > 0)
    .map(({ r, n }) => ({
      line_no: n,
      sku: r.sku,
      for_sku: items[n - 1].kind === "bundle" ? items[n - 1].sku : null,
      location: r.location.code,
      quantity: r.quantity,
      state: p.bucket,
      reasons: r.reasons,
    }));
  const order = {
    id: started.orderId,
    number: started.number,
    channel_id: ctx.channel.id,
    status: plan.status,
    held_from: plan.heldFrom,
    hold_reasons: plan.holdReasons,
    payment_status: plan.paymentStatus as PaymentStatus,
    fulfillment_status: "unfulfilled" as const,
    currency: input.currency,
    total: totals.total,
    stock_committed_at: p.stockCommitted ? started.now : null,
  };
  const stocked = input.lines.reduce((s, l, i) => s + (items[i].kind === "digital" ? 0 : l.quantity), 0);
  const facts = factsFrom(order, ctx.stored, {
    backordered: 0,
    stocked,
    shipped: 0,
    delivered: 0,
    open_fulfilments: 0,
    undelivered: 0,
    allow_split: ctx.channel.config.allow_split !== false,
  });
  const timeline = [...plan.entries, ...(p.committed ? [p.committed] : [])];
  return {
    id: order.id,
    number: order.number,
    channel: ctx.channel.code,
    external_id: input.external_id ?? null,
    status: order.status,
    held_from: order.held_from,
    hold_reasons: order.hold_reasons,
    payment_status: order.payment_status,
    fulfillment_status: order.fulfillment_status,
    currency: order.currency,
    customer: {
      email: input.customer.email,
      name: input.customer.name ?? null,
      phone: input.customer.phone ?? null,
    },
    shipping_address: jsonbOrder(input.shipping_address) as Record<string, string>,
    billing_address: input.billing_address
      ? (jsonbOrder(input.billing_address) as Record<string, string>)
      : null,
    subtotal: totals.subtotal,
    discount_total: totals.discount,
    shipping_total: totals.shipping,
    tax_total: totals.tax,
    total: totals.total,
    placed_at: iso(p.placedAt),
    sla_due_at: iso(p.slaDueAt),
    overdue: OPEN_STATUSES.includes(order.status) && p.slaDueAt.getTime() < Date.now(),
    stock_committed_at: order.stock_committed_at ? iso(order.stock_committed_at) : null,
    note: input.note ?? null,
    lines,
    allocations,
    fulfillments: [],
    payments: plan.payment
      ? [
          {
            status: plan.payment.kind,
            amount: plan.payment.amount,
            reference: plan.payment.reference,
            actor: p.actor,
            at,
          },
        ]
      : [],
    timeline: timeline.map((e) => ({ ...e, at })),
    allowed_actions: allowedActions(facts),
  };
}
