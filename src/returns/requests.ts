import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { ValidationFailed } from "../http/errors.js";
import { resolveLocations } from "../inventory/refs.js";
import { orderIdOf } from "../orders/core.js";
import { factsOf, lockReturn } from "./core.js";
import { readReturnSettings } from "./settings.js";
import { checkAction, RETURN_TRANSITIONS, recordReturnStep } from "./transitions.js";

export interface ReturnRequest {
  order_id: number | string;
  lines: { sku: string; quantity: number; reason: string }[];
  location?: string;
  note?: string;
}

interface ReturnableLine {
  id: number;
  sku: string;
  kind: string;
  shipped: number;
  returned: number;
}

/**
 * A customer asks to send units back. Only shipped units can be returned, and
 * only once: units on earlier returns that were not rejected count as
 * returned. The order row is locked first, so two requests for the same
 * order cannot both claim the same units.
 */
export async function requestReturn(tx: Tx, req: ReturnRequest, actor: string): Promise<number> {
  const settings = await readReturnSettings(tx);
  const orderId = await orderIdOf(tx, req.order_id);
  await sql`select id from orders where id = ${orderId} for update`.execute(tx);
  const errors: { path: string; message: string }[] = [];

  const delivered = await sql<{
    delivered_at: Date | null;
    shipped_at: Date | null;
    location_id: number | null;
  }>`
    select max(delivered_at) as delivered_at, max(shipped_at) as shipped_at,
           -- a supplier's drop-ship shipment has no location: a warehouse's comes first
           (select location_id from fulfillments where order_id = ${orderId} and shipped_at is not null
            order by location_id is null, shipped_at limit 1) as location_id
    from fulfillments where order_id = ${orderId}`.execute(tx);
  const { delivered_at, location_id: shippedFrom } = delivered.rows[0];
  if (delivered_at) {
    const closes = new Date(delivered_at.getTime() + settings.window_days * 86_400_000);
    if (closes.getTime() < Date.now()) {
      errors.push({ path: "body.order_id", message: `the return window closed on ${closes.toISOString()}` });
    }
  }

  const returnable = await sql<ReturnableLine>`
    select ol.id, ol.sku, ol.kind,
      coalesce((select sum(oa.shipped / oa.per_unit) from order_allocations oa
                where oa.line_id = ol.id and oa.counts_units), 0)::int as shipped,
      coalesce((select sum(case when r.status = 'closed' then rl.received else rl.quantity end)
                from return_lines rl join returns r on r.id = rl.return_id
                where rl.order_line_id = ol.id and r.status <> 'rejected'), 0)::int as returned
    from order_lines ol where ol.order_id = ${orderId} order by ol.line_no`.execute(tx);
  const seen = new Set<string>();
  const chosen = req.lines.map((l, i) => {
    const path = `body.lines.${i}`;
    if (seen.has(l.sku)) errors.push({ path: `${path}.sku`, message: "listed twice" });
    seen.add(l.sku);
    if (!settings.reasons.includes(l.reason)) {
      errors.push({ path: `${path}.reason`, message: `must be one of ${settings.reasons.join(", ")}` });
    }
    const candidates = returnable.rows.filter((r) => r.sku === l.sku);
    if (candidates.length === 0) {
      errors.push({ path: `${path}.sku`, message: `${l.sku} is not on this order` });
      return undefined;
    }
    if (candidates.every((c) => c.kind === "digital")) {
      errors.push({ path: `${path}.sku`, message: "digital goods are not returned" });
      return undefined;
    }
    const open = candidates.reduce((s, c) => s + Math.max(0, c.shipped - c.returned), 0);
    const line = candidates.find((c) => c.shipped - c.returned >= l.quantity);
    if (!line) {
      errors.push({ path: `${path}.quantity`, message: `only ${open} shipped and not yet returned` });
      return undefined;
    }
    return { ...l, orderLineId: line.id };
  });
  let locationId = shippedFrom;
  if (req.location) {
    locationId = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
      req.location,
    )!.id;
  }
  if (errors.length) throw new ValidationFailed(errors);

  const created = await tx
    .insertInto("returns")
    .values({ order_id: orderId, location_id: locationId, note: req.note ?? null, actor })
    .returning(["id", "number"])
    .executeTakeFirstOrThrow();
  await tx
    .insertInto("return_lines")
    .values(
      chosen.map((c, i) => ({
        return_id: created.id,
        line_no: i + 1,
        order_line_id: c!.orderLineId,
        sku: c!.sku,
        quantity: c!.quantity,
        reason: c!.reason,
      })),
    )
    .execute();
  await recordReturnStep(tx, created.id, { from: null, to: "requested", action: "request", actor });
  await emit(tx, [
    { type: "return.requested", payload: { id: created.id, number: created.number, order_id: orderId } },
  ]);
  return created.id;
}

/** authorize, reject and close: transitions that move no stock and no money. */
export async function decideReturn(
  tx: Tx,
  key: string | number,
  action: "authorize" | "reject" | "close",
  opts: { actor: string; reason?: string },
): Promise<number> {
  const { ret, lines } = await lockReturn(tx, key);
  const facts = factsOf(ret, lines);
  checkAction(facts, action);
  const to = RETURN_TRANSITIONS[action].to(facts);
  if (action === "reject") {
    await tx
      .updateTable("returns")
      .set({ rejection_reason: opts.reason ?? null })
      .where("id", "=", ret.id)
      .execute();
  }
  await recordReturnStep(tx, ret.id, {
    from: ret.status,
    to,
    action,
    actor: opts.actor,
    reason: opts.reason,
  });
  const type = { authorize: "return.authorised", reject: "return.rejected", close: "return.closed" }[action];
  await emit(tx, [
    {
      type,
      payload: { id: ret.id, number: ret.number, order_id: ret.order_id, reason: opts.reason ?? null },
    },
  ]);
  return ret.id;
}
