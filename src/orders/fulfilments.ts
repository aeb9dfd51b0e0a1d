import { sql } from "kysely";
import type { FulfilmentState, OrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { invoiceShipment } from "../finance/invoices.js";
import { Conflict, InvalidTransition, NotFound, ValidationFailed } from "../http/errors.js";
import { resolveLocations } from "../inventory/refs.js";
import { lockOrder, readOrder, settle, step } from "./core.js";
import { type ActionOptions, commitStock } from "./lifecycle.js";
import { type FulfilmentView, getFulfilment } from "./picklists.js";
import { readOrderSettings } from "./settings.js";
import { shipUnits } from "./stock.js";
import { record } from "./transitions.js";

/**
 * Fulfilments: the units of an order one location ships in one parcel.
 * pending → picking → packed → shipped → delivered (or cancelled before
 * shipping). Shipping takes the units out of on_hand and allocated through
 * the ledger (reason `sale`, reference the order).
 */

export type FulfilmentAction = "pick" | "pack" | "ship" | "deliver" | "cancel";

export const FULFILMENT_TRANSITIONS: Record<
  FulfilmentAction,
  { from: FulfilmentState[]; to: FulfilmentState; event: string; orderMustBe?: OrderStatus[] }
> = {
  pick: {
    from: ["pending"],
    to: "picking",
    event: "fulfillment.picking",
    orderMustBe: ["preparing", "partially_shipped"],
  },
  pack: {
    from: ["picking"],
    to: "packed",
    event: "fulfillment.packed",
    orderMustBe: ["preparing", "partially_shipped"],
  },
  ship: {
    from: ["packed"],
    to: "shipped",
    event: "fulfillment.shipped",
    orderMustBe: ["preparing", "partially_shipped"],
  },
  deliver: { from: ["shipped"], to: "delivered", event: "fulfillment.delivered" },
  cancel: { from: ["pending", "picking", "packed"], to: "cancelled", event: "fulfillment.cancelled" },
};

interface OpenRow {
  id: number;
  line_id: number;
  sku: string;
  line_no: number;
  location_id: number;
  priority: number;
  per_unit: number;
  counts_units: boolean;
  open: number;
}

/** Held units of the order not yet in a fulfilment, per allocation row. */
async function openRows(tx: Tx, orderId: number): Promise<OpenRow[]> {
  const r = await sql<OpenRow>`
    select a.id, a.line_id, l.sku, l.line_no, a.location_id, loc.priority, a.per_unit, a.counts_units,
      a.reserved + a.allocated - coalesce((select sum(fl.quantity) from fulfillment_lines fl
        join fulfillments f on f.id = fl.fulfillment_id
        where fl.allocation_id = a.id and f.status in ('pending', 'picking', 'packed')), 0)::int as open
    from order_allocations a join order_lines l on l.id = a.line_id join locations loc on loc.id = a.location_id
    where a.order_id = ${orderId}
    order by loc.priority, a.location_id, l.line_no, a.variant_id`.execute(tx);
  return r.rows.filter((row) => row.open > 0);
}

const FULFILLABLE: OrderStatus[] = ["approved", "backordered", "preparing", "partially_shipped"];

export async function createFulfilment(
  tx: Tx,
  key: string | number,
  req: { location?: string; lines?: { sku: string; quantity: number }[] },
  opts: ActionOptions,
): Promise<FulfilmentView> {
  const settings = opts.settings ?? (await readOrderSettings(tx));
  let order = await lockOrder(tx, key);
  if (!FULFILLABLE.includes(order.status)) {
    throw new InvalidTransition(
      "order",
      order.status,
      "create a fulfilment",
      [],
      `an order in status ${order.status} cannot be fulfilled; it must be one of ${FULFILLABLE.join(", ")}`,
    );
  }
  const rows = await openRows(tx, order.id);
  let locationId: number | undefined = rows[0]?.location_id;
  if (req.location) {
    locationId = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
      req.location,
    )!.id;
  }
  const here = rows.filter((r) => r.location_id === locationId);
  if (locationId === undefined || here.length === 0) {
    throw new Conflict(
      `nothing of order ${order.number} is held${req.location ? ` at ${req.location}` : ""} outside a fulfilment`,
    );
  }
  // line units per order line at this location, counted on each line's first part
  const openUnits = new Map<number, number>();
  for (const r of here.filter((x) => x.counts_units)) {
    openUnits.set(r.line_id, (openUnits.get(r.line_id) ?? 0) + Math.floor(r.open / r.per_unit));
  }
  const take = new Map<number, number>();
  if (req.lines) {
    req.lines.forEach((w, i) => {
      let left = w.quantity;
      const mine = [...new Set(here.filter((r) => r.sku === w.sku).map((r) => r.line_id))];
      for (const lineId of mine) {
        const n = Math.min(left, (openUnits.get(lineId) ?? 0) - (take.get(lineId) ?? 0));
        if (n > 0) take.set(lineId, (take.get(lineId) ?? 0) + n);
        left -= Math.max(0, n);
      }
      if (left > 0) {
        throw new ValidationFailed([
          {
            path: `body.lines.${i}.quantity`,
            message: `only ${w.quantity - left} units of ${w.sku} are held there outside a fulfilment`,
          },
        ]);
      }
    });
  } else for (const [lineId, n] of openUnits) take.set(lineId, n);

  if (!order.stock_committed_at) {
    await commitStock(tx, order, opts.actor, "picking starts");
    order = await readOrder(tx, order.id);
  }
  const f = await tx
    .insertInto("fulfillments")
    .values({ order_id: order.id, location_id: locationId, actor: opts.actor })
    .returning("id")
    .executeTakeFirstOrThrow();
  const lines = here
    .filter((r) => (take.get(r.line_id) ?? 0) > 0)
    .map((r) => ({ fulfillment_id: f.id, allocation_id: r.id, quantity: take.get(r.line_id)! * r.per_unit }));
  await tx.insertInto("fulfillment_lines").values(lines).execute();
  if (order.status === "approved" || order.status === "backordered") {
    order = await step(tx, order, "prepare", settings, { actor: opts.actor, reason: `fulfilment ${f.id}` });
  }
  const view = await getFulfilment(tx, f.id);
  await emit(tx, [{ type: "fulfillment.created", payload: view }]);
  await settle(tx, order.id, settings, opts.actor);
  return view;
}

export async function fulfilmentAction(
  tx: Tx,
  id: number,
  action: FulfilmentAction,
  opts: ActionOptions & { carrier?: string; tracking_number?: string },
): Promise<FulfilmentView> {
  const found = await tx
    .selectFrom("fulfillments")
    .select("order_id")
    .where("id", "=", id)
    .executeTakeFirst();
  if (!found) throw new NotFound("fulfillment", id);
  const settings = opts.settings ?? (await readOrderSettings(tx));
  const order = await lockOrder(tx, found.order_id);
  const f = (
    await sql<{ status: FulfilmentState; location_id: number }>`
    select status, location_id from fulfillments where id = ${id} for update`.execute(tx)
  ).rows[0];
  const rule = FULFILMENT_TRANSITIONS[action];
  const allowed = (Object.keys(FULFILMENT_TRANSITIONS) as FulfilmentAction[]).filter((a) =>
    FULFILMENT_TRANSITIONS[a].from.includes(f.status),
  );
  if (!rule.from.includes(f.status)) {
    throw new InvalidTransition(
      "fulfillment",
      f.status,
      action,
      allowed,
      `a ${f.status} fulfilment cannot ${action}; allowed: ${allowed.join(", ") || "none"}`,
    );
  }
  if (rule.orderMustBe && !rule.orderMustBe.includes(order.status)) {
    const why =
      order.status === "on_hold"
        ? `order ${order.number} is on hold (${order.hold_reasons.map((r) => r.code).join(", ")}): release it first`
        : `order ${order.number} is ${order.status}`;
    throw new InvalidTransition("fulfillment", f.status, action, allowed, why);
  }
  if (action === "ship") {
    const lines = await sql<{
      allocation_id: number;
      variant_id: number;
      location_id: number;
      quantity: number;
    }>`
      select fl.allocation_id, a.variant_id, a.location_id, fl.quantity
      from fulfillment_lines fl join order_allocations a on a.id = fl.allocation_id
      where fl.fulfillment_id = ${id} order by a.variant_id`.execute(tx);
    await shipUnits(
      tx,
      order.id,
      lines.rows.map((l) => ({
        allocationId: l.allocation_id,
        variantId: l.variant_id,
        locationId: l.location_id,
        quantity: l.quantity,
      })),
      opts.actor,
    );
  }
  await sql`
    update fulfillments set status = ${rule.to}, updated_at = now(),
      carrier = coalesce(${opts.carrier ?? null}, carrier), tracking_number = coalesce(${opts.tracking_number ?? null}, tracking_number),
      shipped_at = case when ${rule.to} = 'shipped' then now() else shipped_at end,
      delivered_at = case when ${rule.to} = 'delivered' then now() else delivered_at end
    where id = ${id}`.execute(tx);
  if (action === "ship" || action === "deliver" || action === "cancel") {
    const detail =
      action === "ship"
        ? ` via ${opts.carrier} ${opts.tracking_number}`
        : action === "cancel"
          ? "; units stay held"
          : "";
    await record(tx, order.id, {
      from: order.status,
      to: order.status,
      action: `fulfillment_${action}`,
      actor: opts.actor,
      reason: `fulfilment ${id} ${rule.to}${detail}`,
    });
  }
  const view = await getFulfilment(tx, id);
  await emit(tx, [{ type: rule.event, payload: view }]);
  await settle(tx, order.id, settings, opts.actor);
  // the shipment's invoice, numbered and posted in this transaction (last: the counter row stays locked to commit)
  if (action === "ship") await invoiceShipment(tx, id);
  return view;
}
