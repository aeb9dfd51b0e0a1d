import { sql } from "kysely";
import type { Tx } from "../../db/tx.js";
import { emit } from "../../events/outbox.js";
import { cancelOrder } from "../../orders/cancellation.js";
import type { Channel } from "../../orders/channels.js";
import { lockOrder, readOrder } from "../../orders/core.js";
import { paymentLocked } from "../../orders/lifecycle.js";
import { paymentEvents, sumPayments } from "../../orders/payments.js";
import { readOrderSettings } from "../../orders/settings.js";
import { record } from "../../orders/transitions.js";
import { recordFailure } from "../monitor/failures.js";
import { type Applied, INBOX_FAILURE_SOURCE } from "./inbox.js";
import "../../db/schema-inbound.js";

/** After a channel order is in: the refunds and fulfilments its platform reports, each recorded once. */

export interface ChannelRefund {
  externalId: string;
  orderId: number;
  /** Money given back, in minor units (0: lines refunded without money). */
  amount: number;
  lines: { sku: string | null; quantity: number; restock: string }[];
  note?: string | null;
}

/** Records a channel refund once: the money as a refund payment, the units to cancel, a timeline entry. */
export async function applyChannelRefund(
  tx: Tx,
  channel: Channel,
  r: ChannelRefund,
  actor: string,
): Promise<Applied> {
  const inserted = await sql`
    insert into channel_refunds (channel_id, external_id, order_id, amount, lines, note)
    values (${channel.id}, ${r.externalId}, ${r.orderId}, ${r.amount}, ${JSON.stringify(r.lines)}::jsonb, ${r.note ?? null})
    on conflict do nothing`.execute(tx);
  if (Number(inserted.numAffectedRows ?? 0) === 0) {
    return { status: "ignored", outcome: { reason: "refund recorded before", refund: r.externalId } };
  }
  const settings = await readOrderSettings(tx);
  let order = await lockOrder(tx, r.orderId);
  const s = sumPayments(await paymentEvents(tx, r.orderId));
  const refundable = s.paid - s.refunded;
  const money = Math.min(r.amount, refundable);
  if (money > 0) {
    order = await paymentLocked(
      tx,
      order,
      { status: "refunded", amount: money, reference: r.externalId },
      settings,
      actor,
    );
  }
  // units Shopify cancelled with the refund (restock_type cancel): no longer to ship
  const toCancel = r.lines.filter((l) => l.restock === "cancel" && l.sku && l.quantity > 0);
  let cancelled = 0;
  if (toCancel.length && !["cancelled", "shipped", "completed"].includes(order.status)) {
    try {
      await sql`savepoint refund_cancel`.execute(tx);
      await cancelOrder(
        tx,
        r.orderId,
        {
          reason: `refunded on ${channel.code}`,
          lines: toCancel.map((l) => ({ sku: l.sku!, quantity: l.quantity })),
        },
        { actor },
      );
      await sql`release savepoint refund_cancel`.execute(tx);
      cancelled = toCancel.reduce((a, l) => a + l.quantity, 0);
    } catch (err) {
      await sql`rollback to savepoint refund_cancel`.execute(tx);
      await recordFailure(tx, {
        source: INBOX_FAILURE_SOURCE,
        channel: channel.code,
        operation: "refund_cancel_units",
        subject: r.externalId,
        error: `refund ${r.externalId}: units could not be cancelled in Keel: ${(err as Error).message}`,
        detail: { order_id: r.orderId, lines: toCancel },
      });
    }
  }
  order = await readOrder(tx, r.orderId);
  const reason = `refund ${r.externalId} on ${channel.code}: ${money} ${order.currency}${
    r.amount > money ? ` (channel refunded ${r.amount}; only ${refundable} was paid in Keel)` : ""
  }${r.lines.length ? `, ${r.lines.map((l) => `${l.sku ?? "?"} ×${l.quantity} ${l.restock}`).join(", ")}` : ""}${
    r.note ? ` — ${r.note}` : ""
  }`;
  await record(tx, r.orderId, {
    from: order.status,
    to: order.status,
    action: "refund",
    actor,
    reason: reason.slice(0, 1000),
  });
  await emit(tx, [
    {
      type: "order.channel_refund",
      payload: {
        id: r.orderId,
        number: order.number,
        channel: channel.code,
        refund: r.externalId,
        amount: money,
      },
    },
  ]);
  return { status: "done", outcome: { order_id: r.orderId, refund: r.externalId, amount: money, cancelled } };
}

export interface ChannelFulfillment {
  externalId: string;
  orderId: number;
  status: string | null;
  carrier: string | null;
  trackingNumber: string | null;
  trackingUrl: string | null;
  lines: { sku: string | null; quantity: number }[];
}

/**
 * Records a fulfilment the channel reports. When Keel shipped it (same
 * tracking number on one of the order's fulfilments) it is the confirmation
 * of Keel's own shipment; otherwise it is noted on the order's timeline for a
 * person (Keel's stock only moves when Keel ships).
 */
export async function applyChannelFulfillment(
  tx: Tx,
  channel: Channel,
  f: ChannelFulfillment,
  actor: string,
): Promise<Applied> {
  await sql`
    insert into channel_fulfillments (channel_id, external_id, order_id, status, carrier, tracking_number, tracking_url, lines)
    values (${channel.id}, ${f.externalId}, ${f.orderId}, ${f.status}, ${f.carrier}, ${f.trackingNumber}, ${f.trackingUrl},
            ${JSON.stringify(f.lines)}::jsonb)
    on conflict (channel_id, external_id) do update set status = excluded.status, carrier = excluded.carrier,
      tracking_number = excluded.tracking_number, tracking_url = excluded.tracking_url, lines = excluded.lines,
      updated_at = now()`.execute(tx);
  const own = f.trackingNumber
    ? await tx
        .selectFrom("fulfillments")
        .select("id")
        .where("order_id", "=", f.orderId)
        .where("tracking_number", "=", f.trackingNumber)
        .executeTakeFirst()
    : undefined;
  const order = await readOrder(tx, f.orderId);
  await record(tx, f.orderId, {
    from: order.status,
    to: order.status,
    action: own ? "channel_confirmed_shipment" : "channel_fulfillment",
    actor,
    reason: `${channel.code} fulfilment ${f.externalId} (${f.status ?? "?"})${
      f.carrier || f.trackingNumber ? `: ${f.carrier ?? ""} ${f.trackingNumber ?? ""}`.trimEnd() : ""
    }${own ? ` confirms Keel fulfilment ${own.id}` : ""}`.slice(0, 1000),
  });
  return {
    status: "done",
    outcome: { order_id: f.orderId, fulfillment: f.externalId, confirms: own?.id ?? null },
  };
}
