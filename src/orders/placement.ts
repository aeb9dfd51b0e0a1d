import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { ValidationFailed } from "../http/errors.js";
import { allLocations, resolveSkus } from "../inventory/refs.js";
import { allowsSplit, requireChannel } from "./channels.js";
import { ordersFromEmailLastHour, placementChecks } from "./checks.js";
import { readOrder, settle, step } from "./core.js";
import { announceCommitted, holdLocked, notePayment } from "./lifecycle.js";
import { paymentSecured } from "./payments.js";
import { holdOrderStock, type PlacedLine } from "./placement-stock.js";
import type { PlaceOrderBody } from "./schema.js";
import { type OrderSettings, readOrderSettings } from "./settings.js";
import { record } from "./transitions.js";

/**
 * Placing an order: one transaction that records it, holds its stock (or
 * backorders what may wait), runs the placement checks and approves it when
 * clean. The same (channel, external_id) twice returns the first order.
 */

export interface PlaceResult {
  created: boolean;
  orderId: number;
}

export function checkTotals(b: PlaceOrderBody) {
  const subtotal = b.lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
  const discount = b.discount_total ?? 0;
  const shipping = b.shipping_total ?? 0;
  const tax = b.tax_total ?? 0;
  const total = subtotal - discount + shipping + tax;
  if (!Number.isSafeInteger(subtotal)) {
    throw new ValidationFailed([{ path: "body.lines", message: "the line amounts are too large" }]);
  }
  if (total < 0) {
    throw new ValidationFailed([
      {
        path: "body.discount_total",
        message: `discounts ${discount} exceed lines + shipping + tax ${total + discount}`,
      },
    ]);
  }
  if (b.total !== undefined && b.total !== total) {
    throw new ValidationFailed([
      {
        path: "body.total",
        message: `must equal lines ${subtotal} − discounts ${discount} + shipping ${shipping} + tax ${tax} = ${total}`,
      },
    ]);
  }
  return { subtotal, discount, shipping, tax, total };
}

export async function placeOrder(
  tx: Tx,
  input: PlaceOrderBody,
  opts: { actor: string; settings?: OrderSettings },
): Promise<PlaceResult> {
  const { actor } = opts;
  const settings = opts.settings ?? (await readOrderSettings(tx));
  const channel = await requireChannel(tx, input.channel ?? "manual");
  const items = await resolveSkus(
    tx,
    input.lines.map((l, i) => ({ sku: l.sku, path: `body.lines.${i}.sku` })),
  );
  const offSale = input.lines.flatMap((l, i) => {
    const status = items.get(l.sku)!.status;
    return status === "active"
      ? []
      : [{ path: `body.lines.${i}.sku`, message: `${l.sku} is not on sale (product ${status})` }];
  });
  if (offSale.length) throw new ValidationFailed(offSale);
  const totals = checkTotals(input);
  const placedAt = input.placed_at ? new Date(input.placed_at) : new Date();
  if (placedAt.getTime() > Date.now() + 5 * 60_000) {
    throw new ValidationFailed([{ path: "body.placed_at", message: "lies in the future" }]);
  }
  if (input.reservation_id !== undefined) await checkReservation(tx, input.reservation_id);
  const slaHours = channel.config.sla_hours ?? settings.default_sla_hours;

  // The unique (channel, external_id) decides: a concurrent duplicate waits here for the first to commit.
  const inserted = await tx
    .insertInto("orders")
    .values({
      channel_id: channel.id,
      external_id: input.external_id ?? null,
      status: "received",
      held_from: null,
      hold_reasons: "[]",
      currency: input.currency,
      customer_email: input.customer.email,
      customer_name: input.customer.name ?? null,
      customer_phone: input.customer.phone ?? null,
      shipping_address: JSON.stringify(input.shipping_address),
      billing_address: input.billing_address ? JSON.stringify(input.billing_address) : null,
      subtotal: totals.subtotal,
      discount_total: totals.discount,
      shipping_total: totals.shipping,
      tax_total: totals.tax,
      total: totals.total,
      placed_at: placedAt,
      sla_due_at: new Date(placedAt.getTime() + slaHours * 3_600_000),
      note: input.note ?? null,
      actor,
    })
    .onConflict((oc) => oc.columns(["channel_id", "external_id"]).doNothing())
    .returning(["id", "number"])
    .executeTakeFirst();
  if (!inserted) {
    const existing = await tx
      .selectFrom("orders")
      .select("id")
      .where("channel_id", "=", channel.id)
      .where("external_id", "=", input.external_id!)
      .executeTakeFirstOrThrow();
    return { created: false, orderId: existing.id };
  }
  const orderId = inserted.id;

  const lineRows = await tx
    .insertInto("order_lines")
    .values(
      input.lines.map((l, i) => {
        const item = items.get(l.sku)!;
        return {
          order_id: orderId,
          line_no: i + 1,
          variant_id: item.id,
          sku: item.sku,
          kind: item.kind,
          title: l.title ?? null,
          quantity: l.quantity,
          unit_price: l.unit_price,
          decision: "[]",
        };
      }),
    )
    .returning(["id", "line_no"])
    .execute();
  const lines: PlacedLine[] = input.lines.map((l, i) => ({
    lineId: lineRows.find((r) => r.line_no === i + 1)!.id,
    lineNo: i + 1,
    item: items.get(l.sku)!,
    quantity: l.quantity,
  }));

  // What does not touch stock happens first, so the stock rows stay locked only for the holds.
  await record(tx, orderId, {
    from: null,
    to: "received",
    action: "place",
    actor,
    reason: `placed via ${channel.code}`,
  });
  await emit(tx, [
    {
      type: "order.placed",
      payload: {
        id: orderId,
        number: inserted.number,
        channel: channel.code,
        external_id: input.external_id ?? null,
        currency: input.currency,
        total: totals.total,
        lines: input.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: l.unit_price })),
      },
    },
  ]);
  let order = await readOrder(tx, orderId);
  const pay = input.payment;
  if (pay && pay.status !== "pending") {
    const req = { status: pay.status, amount: pay.amount, reference: pay.reference };
    await notePayment(tx, order, req, actor, "body.payment");
    order = await readOrder(tx, orderId);
  }
  const secured = paymentSecured(order.payment_status);
  const causes = placementChecks(
    {
      total: totals.total,
      currency: input.currency,
      email: input.customer.email,
      shipping: input.shipping_address,
      billing: input.billing_address,
      paymentSecured: secured,
      ordersLastHour:
        settings.fraud.max_orders_per_email_per_hour === null
          ? 0
          : await ordersFromEmailLastHour(tx, input.customer.email, placedAt),
    },
    settings,
  );
  if (causes.length) order = await holdLocked(tx, order, causes, settings, actor);
  else if (settings.auto_approve) {
    order = await step(tx, order, "approve", settings, {
      actor,
      reason: "auto-approved: every check passed",
    });
  }
  const commit =
    settings.allocate_at === "approval"
      ? order.status === "approved"
      : secured && settings.allocate_at === "payment";

  const locations = await allLocations(tx);
  const held = await holdOrderStock(tx, orderId, lines, {
    actor,
    reservationId: input.reservation_id,
    country: input.shipping_address.country,
    allowSplit: allowsSplit(channel),
    commit,
    locations,
  });
  if (commit) {
    const why =
      settings.allocate_at === "approval"
        ? "approved (allocate_at: approval)"
        : "payment secured (allocate_at: payment)";
    await announceCommitted(tx, order, held.units, actor, why);
  }
  // an approved order may have to wait for stock, or have nothing to ship
  const stocked = lines.some((l) => l.item.kind !== "digital");
  if (order.status === "approved" && (held.backordered > 0 || !stocked))
    await settle(tx, orderId, settings, actor);
  return { created: true, orderId };
}

async function checkReservation(tx: Tx, id: number): Promise<void> {
  const r = await tx.selectFrom("reservations").select("status").where("id", "=", id).executeTakeFirst();
  if (r?.status !== "active") {
    throw new ValidationFailed([
      {
        path: "body.reservation_id",
        message: r ? `reservation ${id} is ${r.status}` : `no reservation ${id}`,
      },
    ]);
  }
}
