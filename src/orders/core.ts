import { type RawBuilder, sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { FulfillmentStatus, HoldReason, OrderStatus, PaymentStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";
import { paymentSecured } from "./payments.js";
import type { OrderSettings } from "./settings.js";
import { type OrderAction, type OrderFacts, transition } from "./transitions.js";

/** The order row as services use it. */
export interface OrderRow {
  id: number;
  number: string;
  channel_id: number;
  status: OrderStatus;
  held_from: OrderStatus | null;
  hold_reasons: HoldReason[];
  payment_status: PaymentStatus;
  fulfillment_status: FulfillmentStatus;
  currency: string;
  total: number;
  stock_committed_at: Date | null;
}

const columns = sql`id, number, channel_id, status, held_from, hold_reasons, payment_status, fulfillment_status,
  currency, total, stock_committed_at`;

/** An order id from an id or an order number (K-100001); NotFound otherwise. */
export async function orderIdOf(db: DB | Tx, key: string | number): Promise<number> {
  const byId = typeof key === "number" || /^\d{1,15}$/.test(key);
  const row = byId
    ? await db.selectFrom("orders").select("id").where("id", "=", Number(key)).executeTakeFirst()
    : await db.selectFrom("orders").select("id").where("number", "=", key).executeTakeFirst();
  if (!row) throw new NotFound("order", key);
  return row.id;
}

/**
 * Locks the order row. Every service that changes an order takes this lock
 * first and stock rows after it, never the other way round.
 */
export async function lockOrder(tx: Tx, key: string | number): Promise<OrderRow> {
  const id = await orderIdOf(tx, key);
  const row = await sql<OrderRow>`select ${columns} from orders where id = ${id} for update`.execute(tx);
  return row.rows[0];
}

export async function readOrder(tx: Tx, id: number): Promise<OrderRow> {
  return (await sql<OrderRow>`select ${columns} from orders where id = ${id}`.execute(tx)).rows[0];
}

export interface Counts {
  backordered: number;
  stocked: number;
  shipped: number;
  delivered: number;
  open_fulfilments: number;
  undelivered: number;
  allow_split: boolean;
}

/**
 * The counts as select-list columns for the order whose id `id` gives (a value or a column of an
 * outer query; the aliases inside are unusual so they never shadow it).
 */
export function countColumns(id: RawBuilder<unknown>) {
  return sql`
    coalesce((select sum(backordered) from order_lines where order_id = ${id} and kind <> 'digital'), 0)::int
      as backordered,
    coalesce((select sum(quantity - cancelled) from order_lines where order_id = ${id} and kind <> 'digital'), 0)::int
      as stocked,
    coalesce((select sum(shipped / per_unit) from order_allocations where order_id = ${id} and counts_units), 0)::int
      as shipped,
    coalesce((select sum(dl.quantity / da.per_unit) from fulfillment_lines dl
              join fulfillments df on df.id = dl.fulfillment_id join order_allocations da on da.id = dl.allocation_id
              where df.order_id = ${id} and df.status = 'delivered' and da.counts_units), 0)::int as delivered,
    (select count(*) from fulfillments where order_id = ${id} and status in ('pending', 'picking', 'packed'))::int
      as open_fulfilments,
    (select count(*) from fulfillments where order_id = ${id} and status = 'shipped')::int as undelivered,
    coalesce((select (ch.config ->> 'allow_split')::boolean from channels ch join orders oc on oc.channel_id = ch.id
              where oc.id = ${id}), true) as allow_split`;
}

/** Everything the guards and settle look at, in one round trip. */
export async function readCounts(tx: DB | Tx, orderId: number): Promise<Counts> {
  const r = await sql<Counts>`select ${countColumns(sql`${orderId}::bigint`)}`.execute(tx);
  return r.rows[0];
}

export async function factsOf(tx: DB | Tx, order: OrderRow, settings: OrderSettings): Promise<OrderFacts> {
  const c = await readCounts(tx, order.id);
  return factsFrom(order, settings, c);
}

export function factsFrom(order: OrderRow, settings: OrderSettings, c: Counts): OrderFacts {
  return {
    status: order.status,
    heldFrom: order.held_from,
    paymentSecured: paymentSecured(order.payment_status),
    requirePayment: settings.require_payment_for_approval,
    allowSplit: c.allow_split,
    backordered: c.backordered,
    toShip: c.stocked - c.shipped,
    shipped: c.shipped,
    openFulfilments: c.open_fulfilments,
    undelivered: c.undelivered,
  };
}

/** Moves the (locked) order along one rule, reading fresh facts first. */
export async function step(
  tx: Tx,
  order: OrderRow,
  action: OrderAction,
  settings: OrderSettings,
  opts: { actor: string; reason?: string | null },
): Promise<OrderRow> {
  await transition(tx, order, action, await factsOf(tx, order, settings), opts);
  return readOrder(tx, order.id);
}

/** The system transition the facts call for, if any. */
function nextSystemAction(f: OrderFacts, settings: OrderSettings, c: Counts): [OrderAction, string] | null {
  if (f.status === "approved" && f.backordered > 0)
    return ["await_stock", `${f.backordered} units wait for stock`];
  if (f.status === "backordered" && f.backordered === 0) return ["stock_filled", "every unit is held"];
  if (f.status === "preparing" && f.openFulfilments === 0 && f.shipped === 0) {
    return ["unprepare", "no open fulfilments"];
  }
  if ((f.status === "preparing" || f.status === "partially_shipped") && f.shipped > 0 && f.toShip === 0) {
    return ["ship_all", "every unit has shipped"];
  }
  if (f.status === "preparing" && f.shipped > 0 && f.toShip > 0)
    return ["ship_part", `${f.toShip} units still to ship`];
  if (settings.complete_on_delivery) {
    if (
      f.status === "shipped" &&
      f.undelivered === 0 &&
      f.openFulfilments === 0 &&
      c.delivered >= c.stocked
    ) {
      return ["complete", "every fulfilment is delivered"];
    }
    if (f.status === "approved" && c.stocked === 0)
      return ["complete", "nothing to ship (digital goods only)"];
  }
  return null;
}

/**
 * Draws the consequences of whatever just happened: backordered ↔ approved,
 * preparing → partially_shipped → shipped → completed; and stores the
 * fulfilment status. Call it last, with the order row locked.
 */
export async function settle(
  tx: Tx,
  orderId: number,
  settings: OrderSettings,
  actor: string,
): Promise<OrderRow> {
  let order = await readOrder(tx, orderId);
  for (let i = 0; i < 6; i++) {
    const c = await readCounts(tx, orderId);
    const facts = factsFrom(order, settings, c);
    const next = nextSystemAction(facts, settings, c);
    if (!next) {
      const fs = fulfillmentStatus(c);
      if (fs !== order.fulfillment_status) {
        await tx.updateTable("orders").set({ fulfillment_status: fs }).where("id", "=", orderId).execute();
        order = { ...order, fulfillment_status: fs };
      }
      return order;
    }
    await transition(tx, order, next[0], facts, { actor, reason: next[1] });
    order = await readOrder(tx, orderId);
  }
  return order;
}

function fulfillmentStatus(c: Counts): FulfillmentStatus {
  if (c.stocked > 0 && c.delivered >= c.stocked) return "delivered";
  if (c.stocked > 0 && c.shipped >= c.stocked) return "fulfilled";
  if (c.shipped > 0) return "partial";
  if (c.open_fulfilments > 0) return "in_progress";
  return "unfulfilled";
}
