import type { Tx } from "../db/tx.js";
import { placementTax } from "../finance/tax.js";
import { ValidationFailed } from "../http/errors.js";
import type { StockItem } from "../inventory/refs.js";
import { raiseDropshipOrders } from "../purchasing/dropship.js";
import { allowsSplit } from "./channels.js";
import { ordersFromEmailLastHour } from "./checks.js";
import { settle } from "./core.js";
import { committedStatements } from "./lifecycle.js";
import { checkReservation, type PlacementContext, readPlacementContext } from "./placement-context.js";
import {
  planStart,
  type Started,
  type StartPlan,
  type StartWrite,
  type Totals,
  writeStarts,
} from "./placement-start.js";
import { type HeldStock, holdOrderStock, type PlacedLine } from "./placement-stock.js";
import { type Placed, placedView } from "./placement-view.js";
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

/** `addedTax`: the tax Keel adds to net prices when the order brings none of its own (finance/tax.ts). */
export function checkTotals(b: PlaceOrderBody, addedTax?: number) {
  const subtotal = b.lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
  const discount = b.discount_total ?? 0;
  const shipping = b.shipping_total ?? 0;
  const tax = b.tax_total ?? addedTax ?? 0;
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

/** A request checked and planned, ready to be written (alone or with others). */
export interface Prepared {
  input: PlaceOrderBody;
  actor: string;
  ctx: PlacementContext;
  totals: Totals;
  placedAt: Date;
  slaDueAt: Date;
  plan: StartPlan;
  items: StockItem[];
}

/** When the order counts as placed: `placed_at` for imports, else now; never in the future. */
export function placedAtOf(input: PlaceOrderBody): Date {
  const placedAt = input.placed_at ? new Date(input.placed_at) : new Date();
  if (placedAt.getTime() > Date.now() + 5 * 60_000) {
    throw new ValidationFailed([{ path: "body.placed_at", message: "lies in the future" }]);
  }
  return placedAt;
}

/**
 * Checks a request against its context and plans its first moments.
 * `ordersLastHour` counts this order too (it is not written yet).
 */
export function prepare(
  input: PlaceOrderBody,
  ctx: PlacementContext,
  o: { actor: string; placedAt: Date; ordersLastHour: number },
): Prepared {
  const { actor, placedAt } = o;
  const { settings, channel } = ctx;
  const addedTax =
    input.tax_total === undefined
      ? placementTax(
          {
            country: (input.billing_address ?? input.shipping_address).country,
            discount_total: input.discount_total ?? 0,
            shipping_total: input.shipping_total ?? 0,
            lines: input.lines,
          },
          ctx.tax.classes,
          ctx.tax.settings,
        )
      : undefined;
  const totals = checkTotals(input, addedTax);
  if (input.reservation_id !== undefined) checkReservation(input.reservation_id, ctx.reservation);
  const slaHours = channel.config.sla_hours ?? settings.default_sla_hours;
  const slaDueAt = new Date(placedAt.getTime() + slaHours * 3_600_000);
  const plan = planStart(input, ctx, totals, { actor, ordersLastHour: o.ordersLastHour });
  const items = input.lines.map((l) => ctx.items.get(l.sku)!);
  return { input, actor, ctx, totals, placedAt, slaDueAt, plan, items };
}

export const startWrite = (p: Prepared): StartWrite => ({
  input: p.input,
  channelId: p.ctx.channel.id,
  totals: p.totals,
  placedAt: p.placedAt,
  slaDueAt: p.slaDueAt,
  actor: p.actor,
  plan: p.plan,
});

/** The order's lines with the ids drawn for them. */
export const placedLines = (p: Prepared, started: Started): PlacedLine[] =>
  p.input.lines.map((l, i) => ({
    lineId: started.lineIds.get(i + 1)!,
    lineNo: i + 1,
    item: p.items[i],
    quantity: l.quantity,
    title: l.title ?? null,
    unitPrice: l.unit_price,
    dropship: p.ctx.dropship.get(l.sku)?.supplier,
  }));

/** An approved order that waits for stock or has nothing to ship moves on at once (core.settle). */
export const needsSettling = (p: Prepared, backordered: number) =>
  p.plan.status === "approved" && (backordered > 0 || !p.items.some((i) => i.kind !== "digital"));

/** The allocate timeline entry of an order whose stock was committed at placement with units held. */
export const committedEntry = (p: Prepared, units: number): TimelineEntry | null =>
  p.plan.commit && units > 0
    ? {
        from: p.plan.status,
        to: p.plan.status,
        action: "allocate",
        actor: p.actor,
        reason: p.plan.commitReason,
      }
    : null;

export async function placeOrder(
  tx: Tx,
  input: PlaceOrderBody,
  opts: { actor: string; settings?: OrderSettings },
): Promise<PlaceResult> {
  const { actor } = opts;
  const placedAt = placedAtOf(input);
  const { ctx, recent } = await readPlacementContext(tx, input, placedAt, opts.settings);
  const ordersLastHour =
    ctx.settings.fraud.max_orders_per_email_per_hour === null
      ? 0
      : // this order is not written yet: count it too
        (recent ?? (await ordersFromEmailLastHour(tx, input.customer.email, placedAt))) + 1;
  const p = prepare(input, ctx, { actor, placedAt, ordersLastHour });
  // with a checkout reservation the rows are locked once it is consumed
  const lock = input.reservation_id ? [] : stockedVariantIds(p.items);
  const [started] = await writeStarts(tx, [startWrite(p)], lock);
  if (!started) {
    const existing = await tx
      .selectFrom("orders")
      .select("id")
      .where("channel_id", "=", ctx.channel.id)
      .where("external_id", "=", input.external_id!)
      .executeTakeFirstOrThrow();
    return { created: false, orderId: existing.id };
  }
  const { orderId } = started;
  const order = { id: orderId, number: started.number, status: p.plan.status };
  const held = await holdOrderStock(tx, orderId, placedLines(p, started), {
    actor,
    reservationId: input.reservation_id,
    country: input.shipping_address.country,
    allowSplit: allowsSplit(ctx.channel),
    commit: p.plan.commit,
    locations: ctx.locations,
    free: started.free,
    // stock_committed_at went in with the order
    also: (units) =>
      p.plan.commit ? committedStatements([{ order, units }], actor, p.plan.commitReason, true) : [],
  });
  // drop-ship lines go on their suppliers' purchase orders of the day (src/purchasing/dropship.ts)
  if (ctx.dropship.size > 0) await raiseDropshipOrders(tx, { id: orderId, status: p.plan.status }, actor);
  if (needsSettling(p, held.backordered)) {
    await settle(tx, orderId, ctx.settings, actor);
    return { created: true, orderId };
  }
  const view = placedView(viewOf(p, started, held));
  return { created: true, orderId, ...(view ? { view } : {}) };
}

/** What placedView needs of a placed order. */
export const viewOf = (p: Prepared, started: Started, held: HeldStock): Placed => ({
  input: p.input,
  ctx: p.ctx,
  totals: p.totals,
  placedAt: p.placedAt,
  slaDueAt: p.slaDueAt,
  plan: p.plan,
  started,
  held,
  committed: committedEntry(p, held.units),
  stockCommitted: p.plan.commit,
  bucket: p.plan.commit ? "allocated" : "reserved",
  actor: p.actor,
});
