import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";
import { allowsSplit } from "./channels.js";
import { ordersFromEmailLastHour } from "./checks.js";
import { settle } from "./core.js";
import { committedStatements } from "./lifecycle.js";
import { checkReservation, readPlacementContext } from "./placement-context.js";
import { planStart, writeStart } from "./placement-start.js";
import { holdOrderStock, type PlacedLine } from "./placement-stock.js";
import { placedView } from "./placement-view.js";
import type { PlaceOrderBody } from "./schema.js";
import type { OrderSettings } from "./settings.js";
import { stockedVariantIds } from "./stock.js";
import type { TimelineEntry } from "./transitions.js";
import type { OrderView } from "./view.js";

/**
 * Placing an order: one transaction that records it, holds its stock (or
 * backorders what may wait), runs the placement checks and approves it when
 * clean. The same (channel, external_id) twice returns the first order.
 *
 * Round trips are what placement costs (DESIGN.md, "Speed"), so it reads
 * once (placement-context), writes the order with its first steps and locks
 * the stock rows in one statement (placement-start), holds the stock with
 * every record of it in one more (placement-stock), and builds the response
 * from what it wrote (placement-view): BEGIN, three statements, COMMIT.
 */

export interface PlaceResult {
  created: boolean;
  orderId: number;
  /** The order as GET /v1/orders/{id} shows it, when placement could build it from what it wrote. */
  view?: OrderView;
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
  const ctx = await readPlacementContext(tx, input, opts.settings);
  const { settings, channel } = ctx;
  const totals = checkTotals(input);
  const placedAt = input.placed_at ? new Date(input.placed_at) : new Date();
  if (placedAt.getTime() > Date.now() + 5 * 60_000) {
    throw new ValidationFailed([{ path: "body.placed_at", message: "lies in the future" }]);
  }
  if (input.reservation_id !== undefined) checkReservation(input.reservation_id, ctx.reservation);
  const slaHours = channel.config.sla_hours ?? settings.default_sla_hours;
  const slaDueAt = new Date(placedAt.getTime() + slaHours * 3_600_000);
  const ordersLastHour =
    settings.fraud.max_orders_per_email_per_hour === null
      ? 0
      : // this order is not written yet: count it too
        (await ordersFromEmailLastHour(tx, input.customer.email, placedAt)) + 1;
  const plan = planStart(input, ctx, totals, { actor, ordersLastHour });

  const items = input.lines.map((l) => ctx.items.get(l.sku)!);
  const started = await writeStart(tx, {
    input,
    channelId: channel.id,
    totals,
    placedAt,
    slaDueAt,
    actor,
    plan,
    // with a checkout reservation the rows are locked once it is consumed
    lockVariantIds: input.reservation_id ? [] : stockedVariantIds(items),
  });
  if (!started) {
    const existing = await tx
      .selectFrom("orders")
      .select("id")
      .where("channel_id", "=", channel.id)
      .where("external_id", "=", input.external_id!)
      .executeTakeFirstOrThrow();
    return { created: false, orderId: existing.id };
  }
  const { orderId } = started;
  const lines: PlacedLine[] = input.lines.map((l, i) => ({
    lineId: started.lineIds.get(i + 1)!,
    lineNo: i + 1,
    item: items[i],
    quantity: l.quantity,
    title: l.title ?? null,
    unitPrice: l.unit_price,
  }));

  const { commit, commitReason: why } = plan;
  const order = { id: orderId, number: started.number, status: plan.status };
  let committed: TimelineEntry | null = null;
  const held = await holdOrderStock(tx, orderId, lines, {
    actor,
    reservationId: input.reservation_id,
    country: input.shipping_address.country,
    allowSplit: allowsSplit(channel),
    commit,
    locations: ctx.locations,
    free: started.free,
    also: (units) => {
      if (!commit) return [];
      if (units > 0)
        committed = { from: order.status, to: order.status, action: "allocate", actor, reason: why };
      // stock_committed_at went in with the order
      return committedStatements(order, units, actor, why, true);
    },
  });
  // an approved order may have to wait for stock, or have nothing to ship
  const stocked = items.some((i) => i.kind !== "digital");
  if (plan.status === "approved" && (held.backordered > 0 || !stocked)) {
    await settle(tx, orderId, settings, actor);
    return { created: true, orderId };
  }
  const view = placedView({
    input,
    ctx,
    totals,
    placedAt,
    slaDueAt,
    plan,
    started,
    held,
    committed,
    stockCommitted: commit,
    bucket: commit ? "allocated" : "reserved",
    actor,
  });
  return { created: true, orderId, ...(view ? { view } : {}) };
}
