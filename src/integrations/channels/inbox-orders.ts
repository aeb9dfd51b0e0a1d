import { sql } from "kysely";
import type { PaymentKind } from "../../db/schema.js";
import type { Tx } from "../../db/tx.js";
import { InvalidTransition } from "../../http/errors.js";
import { cancelOrder } from "../../orders/cancellation.js";
import type { Channel } from "../../orders/channels.js";
import type { HoldCause } from "../../orders/checks.js";
import { lockOrder, readOrder } from "../../orders/core.js";
import { holdLocked, paymentLocked } from "../../orders/lifecycle.js";
import { paymentEvents, sumPayments } from "../../orders/payments.js";
import { placeOrder } from "../../orders/placement.js";
import { PlaceOrderBody } from "../../orders/schema.js";
import { readOrderSettings } from "../../orders/settings.js";
import { record } from "../../orders/transitions.js";
import { recordFailure } from "../monitor/failures.js";
import { type Applied, INBOX_FAILURE_SOURCE, wakeWaiting } from "./inbox.js";
import { MalformedPayload } from "./inbox-json.js";
import "../../db/schema-inbound.js";

/**
 * The common order model every connector maps onto: a channel's order as
 * its platform last described it, applied to Keel's one order model. Applying
 * the same description twice changes nothing (payments are brought up to what
 * the channel says, never added again), and a description older than the one
 * applied last is stale and changes nothing.
 */

export interface ChannelOrderLine {
  /** null or "" when the channel line has no SKU. */
  sku: string | null;
  quantity: number;
  unitPrice: number;
  title?: string;
  /** The line's id on the channel, for the hold reason. */
  ref: string;
}

export interface ChannelOrder {
  /** (channel, externalId) is the order's identity: Shopify's order GID, WooCommerce's order id. */
  externalId: string;
  /** The platform's other id for the order, as text (Shopify refunds and fulfilments name the order by it). */
  remoteId?: string | null;
  /** When the platform produced this description; older than the last applied → stale. */
  triggeredAt: Date | null;
  number?: string;
  currency: string;
  lines: ChannelOrderLine[];
  customer: { email: string | null; name?: string; phone?: string };
  shippingAddress: Record<string, string | undefined> | null;
  billingAddress?: Record<string, string | undefined> | null;
  discountTotal: number;
  shippingTotal: number;
  taxTotal: number;
  placedAt?: string;
  note?: string;
  /** What the channel says was paid: brought about with payment events, never beyond the order total. */
  payment: { authorized: number; paid: number; voided: boolean; failed: boolean };
  cancelled?: { reason: string } | null;
  /** Holds the channel asks for (an unmapped location, WooCommerce on-hold). */
  holds?: HoldCause[];
  /** A line for the timeline when the channel reports a state Keel does not model (WooCommerce completed). */
  remark?: string;
}

/** The order the channel names is not (yet) in Keel, or cannot be placed: failed, retryable from the monitor. */
export class ChannelOrderRefused extends Error {}

interface OrderLink {
  order_id: number | null;
  last_triggered_at: Date | null;
}

/** Locks the channel order's link row (created when new): every delivery of one order runs one at a time. */
async function lockLink(tx: Tx, channelId: number, o: ChannelOrder): Promise<OrderLink> {
  const r = await sql<OrderLink>`
    insert into channel_orders (channel_id, external_id, remote_id) values (${channelId}, ${o.externalId}, ${o.remoteId ?? null})
    on conflict (channel_id, external_id) do update set remote_id = coalesce(excluded.remote_id, channel_orders.remote_id)
    returning order_id, last_triggered_at`.execute(tx);
  return r.rows[0];
}

/** Applies a channel's description of an order: places it when new, then payments, holds and cancellation. */
export async function applyChannelOrder(
  tx: Tx,
  channel: Channel,
  o: ChannelOrder,
  actor: string,
): Promise<Applied> {
  const link = await lockLink(tx, channel.id, o);
  if (o.triggeredAt && link.last_triggered_at && o.triggeredAt < link.last_triggered_at) {
    return {
      status: "stale",
      outcome: { order_id: link.order_id, applied: link.last_triggered_at.toISOString() },
    };
  }
  const outcome: Record<string, unknown> = {};
  let orderId = link.order_id;
  if (orderId === null) {
    orderId = await placeChannelOrder(tx, channel, o, actor, outcome);
    // refunds and fulfilments that arrived before their order
    await wakeWaiting(tx, channel.id);
  }
  await sql`update channel_orders set order_id = ${orderId}, updated_at = now(),
              last_triggered_at = greatest(last_triggered_at, ${o.triggeredAt ?? null}::timestamptz)
            where channel_id = ${channel.id} and external_id = ${o.externalId}`.execute(tx);
  outcome.order_id = orderId;
  outcome.payments = await bringPaymentsUp(tx, orderId, o, actor);
  if (o.cancelled) outcome.cancelled = await cancelFromChannel(tx, channel, orderId, o, actor);
  return { status: "done", outcome };
}

async function placeChannelOrder(
  tx: Tx,
  channel: Channel,
  o: ChannelOrder,
  actor: string,
  outcome: Record<string, unknown>,
): Promise<number> {
  const skus = [...new Set(o.lines.flatMap((l) => (l.sku ? [l.sku] : [])))];
  const found = await sql<{ sku: string; status: string }>`
    select v.sku, p.status from variants v join products p on p.id = v.product_id
    where v.sku = any(${skus}::text[])`.execute(tx);
  const onSale = new Map(found.rows.map((r) => [r.sku, r.status]));
  const known = o.lines.filter((l) => l.sku && onSale.get(l.sku) === "active");
  const unknown = o.lines.filter((l) => !(l.sku && onSale.get(l.sku) === "active"));
  const why = (l: ChannelOrderLine) =>
    !l.sku
      ? `line ${l.ref} (${l.title ?? "untitled"} ×${l.quantity}) has no SKU`
      : onSale.has(l.sku)
        ? `SKU ${l.sku} ×${l.quantity} is not on sale in Keel (product ${onSale.get(l.sku)})`
        : `SKU ${l.sku} ×${l.quantity} is not in Keel's catalogue`;
  if (known.length === 0) {
    throw new ChannelOrderRefused(
      `order ${o.number ?? o.externalId} has no line Keel can hold: ${unknown.map(why).join("; ")}. Add the products, then retry.`,
    );
  }
  const subtotal = known.reduce((s, l) => s + l.unitPrice * l.quantity, 0);
  const shortNote = unknown.length
    ? `Lines not in Keel (not held, not in the totals): ${unknown.map(why).join("; ")}`
    : undefined;
  const candidate = {
    channel: channel.code,
    external_id: o.externalId,
    currency: o.currency,
    lines: known.map((l) => ({
      sku: l.sku!,
      quantity: l.quantity,
      unit_price: l.unitPrice,
      ...(l.title ? { title: l.title.slice(0, 500) } : {}),
    })),
    customer: {
      email: o.customer.email ?? "",
      ...(o.customer.name ? { name: o.customer.name } : {}),
      ...(o.customer.phone ? { phone: o.customer.phone } : {}),
    },
    shipping_address: o.shippingAddress ?? o.billingAddress ?? {},
    ...(o.billingAddress ? { billing_address: o.billingAddress } : {}),
    shipping_total: o.shippingTotal,
    tax_total: o.taxTotal,
    // with lines left out, their discounts cannot be told apart: never more than what is left
    discount_total: Math.min(o.discountTotal, subtotal + o.shippingTotal + o.taxTotal),
    ...(o.placedAt ? { placed_at: o.placedAt } : {}),
    ...(o.note || shortNote ? { note: [o.note, shortNote].filter(Boolean).join("\n").slice(0, 2000) } : {}),
  };
  const parsed = PlaceOrderBody.safeParse(candidate);
  if (!parsed.success) {
    throw new MalformedPayload(
      `order ${o.number ?? o.externalId} cannot be mapped: ${parsed.error.issues
        .map((i) => `${i.path.join(".")}: ${i.message}`)
        .join("; ")}`,
    );
  }
  let placed: Awaited<ReturnType<typeof placeOrder>>;
  try {
    await sql`savepoint place_channel_order`.execute(tx);
    placed = await placeOrder(tx, parsed.data, { actor });
    await sql`release savepoint place_channel_order`.execute(tx);
  } catch (err) {
    await sql`rollback to savepoint place_channel_order`.execute(tx);
    if ((err as { code?: string }).code === "insufficient_stock") {
      throw new ChannelOrderRefused(
        `order ${o.number ?? o.externalId} was sold on ${channel.code} but Keel cannot hold its stock (${(err as Error).message}); receive stock or allow backorders, then retry`,
      );
    }
    throw err;
  }
  outcome.created = placed.created;
  const holds: HoldCause[] = [...(o.holds ?? [])];
  if (unknown.length) {
    holds.push({ code: "stock", detail: `unknown on ${channel.code}: ${unknown.map(why).join("; ")}` });
    await sql`update channel_orders set unknown_skus = ${unknown.map((l) => l.sku ?? "")}::text[]
              where channel_id = ${channel.id} and external_id = ${o.externalId}`.execute(tx);
    await recordFailure(tx, {
      source: INBOX_FAILURE_SOURCE,
      channel: channel.code,
      operation: "ingest_order",
      subject: o.externalId,
      error: `order placed on hold: ${unknown.map(why).join("; ")}`,
      detail: { order_id: placed.orderId, lines: unknown },
    });
    outcome.unknown = unknown.map((l) => l.sku ?? l.ref);
  }
  if (placed.created && holds.length) {
    const settings = await readOrderSettings(tx);
    const order = await lockOrder(tx, placed.orderId);
    if (order.status !== "cancelled") await holdLocked(tx, order, holds, settings, actor);
    outcome.held = holds.map((h) => h.code);
  }
  if (placed.created && o.remark) {
    const order = await readOrder(tx, placed.orderId);
    await record(tx, order.id, {
      from: order.status,
      to: order.status,
      action: "channel_note",
      actor,
      reason: o.remark,
    });
  }
  return placed.orderId;
}

/** Payment events that bring Keel's record up to what the channel says; none when it says nothing new. */
async function bringPaymentsUp(tx: Tx, orderId: number, o: ChannelOrder, actor: string): Promise<string[]> {
  const added: string[] = [];
  const settings = await readOrderSettings(tx);
  const add = async (kind: PaymentKind, amount: number) => {
    const order = await lockOrder(tx, orderId);
    await paymentLocked(tx, order, { status: kind, amount, reference: `${o.externalId}` }, settings, actor);
    added.push(`${kind} ${amount}`);
  };
  const cap = (await lockOrder(tx, orderId)).total;
  let s = sumPayments(await paymentEvents(tx, orderId));
  const wantAuthorized = Math.min(o.payment.authorized, cap);
  if (wantAuthorized > s.authorized && s.paid === 0) await add("authorized", wantAuthorized - s.authorized);
  s = sumPayments(await paymentEvents(tx, orderId));
  const wantPaid = Math.min(o.payment.paid, cap);
  if (wantPaid > s.paid) await add("paid", wantPaid - s.paid);
  s = sumPayments(await paymentEvents(tx, orderId));
  if (o.payment.voided && s.openAuthorization > 0) await add("voided", s.openAuthorization);
  if (o.payment.failed && (await paymentEvents(tx, orderId)).length === 0) await add("failed", 0);
  return added;
}

async function cancelFromChannel(
  tx: Tx,
  channel: Channel,
  orderId: number,
  o: ChannelOrder,
  actor: string,
): Promise<string> {
  const order = await readOrder(tx, orderId);
  if (order.status === "cancelled") return "already";
  try {
    await sql`savepoint cancel_channel_order`.execute(tx);
    await cancelOrder(tx, orderId, { reason: o.cancelled!.reason }, { actor });
    await sql`release savepoint cancel_channel_order`.execute(tx);
    return "cancelled";
  } catch (err) {
    if (!(err instanceof InvalidTransition)) throw err;
    await sql`rollback to savepoint cancel_channel_order`.execute(tx);
    // shipped in Keel already: a person decides (a return, a refund); the order stays as it is
    await recordFailure(tx, {
      source: INBOX_FAILURE_SOURCE,
      channel: channel.code,
      operation: "cancel_order",
      subject: o.externalId,
      error: `cancelled on ${channel.code} (${o.cancelled!.reason}) but Keel cannot cancel order ${order.number}: ${err.message}`,
      detail: { order_id: orderId },
    });
    return "refused";
  }
}

/** Finds the Keel order of a channel order by its external id or its remote id. */
export async function linkedOrder(
  tx: Tx,
  channelId: number,
  ref: { externalId?: string | null; remoteId?: string | null },
): Promise<number | null> {
  const r = await sql<{ order_id: number | null }>`
    select order_id from channel_orders where channel_id = ${channelId} and order_id is not null
      and (external_id = ${ref.externalId ?? null} or remote_id = ${ref.remoteId ?? null})
    limit 1`.execute(tx);
  return r.rows[0]?.order_id ?? null;
}
