import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict } from "../http/errors.js";
import { recordPayment } from "../orders/lifecycle.js";
import { placeOrder } from "../orders/placement.js";
import type { PlaceOrderBody } from "../orders/schema.js";
import { factsOf, lockReturn } from "./core.js";
import { checkAction, recordReturnStep } from "./transitions.js";

/**
 * Refunds go through the order's payments, where payment status is derived
 * and where a refund above what was paid and not yet refunded is refused.
 */
export async function refundReturn(
  tx: Tx,
  key: string | number,
  req: { amount: number; reference?: string },
  actor: string,
): Promise<number> {
  const { ret, lines } = await lockReturn(tx, key);
  checkAction(factsOf(ret, lines), "refund");
  await recordPayment(
    tx,
    ret.order_id,
    { status: "refunded", amount: req.amount, reference: req.reference ?? `return:${ret.number}` },
    { actor },
  );
  await tx
    .insertInto("return_refunds")
    .values({ return_id: ret.id, amount: req.amount, reference: req.reference ?? null, actor })
    .execute();
  await tx
    .updateTable("returns")
    .set((eb) => ({ refunded: eb("refunded", "+", req.amount), updated_at: new Date() }))
    .where("id", "=", ret.id)
    .execute();
  await recordReturnStep(tx, ret.id, {
    from: ret.status,
    to: ret.status,
    action: "refund",
    actor,
    reason: `refunded ${req.amount}`,
  });
  await emit(tx, [
    { type: "return.refunded", payload: { id: ret.id, number: ret.number, amount: req.amount } },
  ]);
  return ret.id;
}

interface OriginalOrder {
  number: string;
  channel: string;
  currency: string;
  customer_email: string;
  customer_name: string | null;
  customer_phone: string | null;
  shipping_address: Record<string, string>;
}

/**
 * A replacement order for the customer, linked to the return and placed like
 * any other order on the original channel: it holds its stock at creation
 * (or backorders what its policy allows). Prices default to 0: an exchange is
 * paid for by what comes back.
 */
export async function exchangeReturn(
  tx: Tx,
  key: string | number,
  req: { lines: { sku: string; quantity: number; unit_price?: number }[]; note?: string },
  actor: string,
): Promise<{ returnId: number; orderId: number }> {
  const { ret, lines } = await lockReturn(tx, key);
  checkAction(factsOf(ret, lines), "exchange");
  if (ret.exchange_order_id !== null) {
    throw new Conflict(`Return ${ret.number} already has its exchange order`, {
      exchange_order_id: ret.exchange_order_id,
    });
  }
  const original = (
    await sql<OriginalOrder>`
      select o.number, c.code as channel, o.currency, o.customer_email, o.customer_name, o.customer_phone,
             o.shipping_address
      from orders o join channels c on c.id = o.channel_id where o.id = ${ret.order_id}`.execute(tx)
  ).rows[0];
  const placed = await placeOrder(
    tx,
    {
      channel: original.channel,
      external_id: `exchange-${ret.number}`,
      currency: original.currency,
      lines: req.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: l.unit_price ?? 0 })),
      customer: {
        email: original.customer_email,
        ...(original.customer_name ? { name: original.customer_name } : {}),
        ...(original.customer_phone ? { phone: original.customer_phone } : {}),
      },
      shipping_address: original.shipping_address as PlaceOrderBody["shipping_address"],
      note: req.note ?? `Exchange for return ${ret.number} of order ${original.number}`,
    },
    { actor },
  );
  await tx
    .updateTable("returns")
    .set({ exchange_order_id: placed.orderId, updated_at: new Date() })
    .where("id", "=", ret.id)
    .execute();
  await recordReturnStep(tx, ret.id, {
    from: ret.status,
    to: ret.status,
    action: "exchange",
    actor,
    reason: `replacement order ${placed.orderId}`,
  });
  await emit(tx, [
    { type: "return.exchanged", payload: { id: ret.id, number: ret.number, order_id: placed.orderId } },
  ]);
  return { returnId: ret.id, orderId: placed.orderId };
}
