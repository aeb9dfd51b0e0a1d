import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { placementTax } from "../finance/tax.js";
import { Conflict, InvalidTransition, ValidationFailed } from "../http/errors.js";
import { allowsSplit } from "./channels.js";
import { placementChecks } from "./checks.js";
import { lockOrder, settle } from "./core.js";
import type { ActionOptions } from "./lifecycle.js";
import { holdLocked } from "./lifecycle.js";
import { paymentEvents, paymentSecured, paymentStatus } from "./payments.js";
import { checkTotals } from "./placement.js";
import { readPlacementContext } from "./placement-context.js";
import { decideLines, type PlacedLine } from "./placement-stock.js";
import type { PlaceOrderBody } from "./schema.js";
import { readOrderSettings } from "./settings.js";
import { lockFree, planTake, releaseUnits, stockedVariantIds, takeStock } from "./stock.js";
import { record } from "./transitions.js";

/**
 * Editing an order before any of it is picked: the address, and the lines as
 * a whole new list (a SKU left out is removed, a new one added, a quantity or
 * price changed). One transaction: the order row is locked, everything it
 * holds is released and the new lines are held again by the same guarded
 * statements as placement (allocation chain on free stock read under row
 * locks, then one changeStock): an edit that cannot be held or backordered
 * is refused whole (409) and nothing changes. Totals are recomputed, the
 * placement checks run again, the timeline records the edit.
 */

export interface EditBody {
  shipping_address?: PlaceOrderBody["shipping_address"];
  billing_address?: PlaceOrderBody["billing_address"];
  lines?: { sku: string; quantity: number; unit_price: number; title?: string }[];
  shipping_total?: number;
  discount_total?: number;
  tax_total?: number;
  note?: string;
}

const EDITABLE = ["received", "on_hold", "approved", "backordered"] as const;

interface LineRow {
  id: number;
  line_no: number;
  sku: string;
  title: string | null;
  quantity: number;
  cancelled: number;
  unit_price: number;
}

export async function editOrder(tx: Tx, key: string | number, body: EditBody, opts: ActionOptions) {
  const settings = opts.settings ?? (await readOrderSettings(tx));
  let order = await lockOrder(tx, key);
  const started = await sql<{ n: number }>`
    select count(*)::int as n from fulfillments where order_id = ${order.id} and status <> 'cancelled'`.execute(
    tx,
  );
  if (!(EDITABLE as readonly string[]).includes(order.status) || started.rows[0].n > 0) {
    throw new InvalidTransition(
      "order",
      order.status,
      "edit",
      [],
      started.rows[0].n > 0
        ? `order ${order.number} has a fulfilment: it can no longer be edited`
        : `an order in status ${order.status} can no longer be edited; it must be one of ${EDITABLE.join(", ")}`,
    );
  }
  const row = (
    await sql<{
      channel: string;
      customer_email: string;
      shipping_address: PlaceOrderBody["shipping_address"];
      billing_address: PlaceOrderBody["billing_address"] | null;
      shipping_total: number;
      discount_total: number;
      tax_total: number;
    }>`
      select c.code as channel, o.customer_email, o.shipping_address, o.billing_address, o.shipping_total,
        o.discount_total, o.tax_total
      from orders o join channels c on c.id = o.channel_id where o.id = ${order.id}`.execute(tx)
  ).rows[0];
  const existing = (
    await sql<LineRow>`
      select id, line_no, sku, title, quantity, cancelled, unit_price from order_lines
      where order_id = ${order.id} order by line_no`.execute(tx)
  ).rows;
  const wanted: NonNullable<EditBody["lines"]> =
    body.lines ??
    existing
      .filter((l) => l.quantity > l.cancelled)
      .map((l) => ({ sku: l.sku, quantity: l.quantity - l.cancelled, unit_price: l.unit_price }));
  const dup = wanted.findIndex((l, i) => wanted.findIndex((x) => x.sku === l.sku) !== i);
  if (dup >= 0) {
    throw new ValidationFailed([
      { path: `body.lines.${dup}.sku`, message: `${wanted[dup].sku} is listed twice` },
    ]);
  }
  const shipping = body.shipping_address ?? row.shipping_address;
  const billing = body.billing_address ?? row.billing_address ?? undefined;
  const input: PlaceOrderBody = {
    channel: row.channel,
    currency: order.currency,
    lines: wanted.map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price: l.unit_price })),
    customer: { email: row.customer_email },
    shipping_address: shipping,
    ...(billing ? { billing_address: billing } : {}),
    shipping_total: body.shipping_total ?? row.shipping_total,
    discount_total: body.discount_total ?? row.discount_total,
    ...(body.tax_total !== undefined ? { tax_total: body.tax_total } : {}),
  };
  // unknown or off-sale SKUs are refused (422) here, before anything changes
  const { ctx } = await readPlacementContext(tx, input, new Date(), settings);
  await refuseDropship(tx, order.id, order.number, ctx.dropship);
  const linesChanged = body.lines !== undefined;
  const keelTax =
    input.tax_total === undefined
      ? placementTax(
          {
            country: (billing ?? shipping).country,
            discount_total: input.discount_total ?? 0,
            shipping_total: input.shipping_total ?? 0,
            lines: input.lines,
          },
          ctx.tax.classes,
          ctx.tax.settings,
        )
      : undefined;
  const totals = checkTotals(
    input,
    keelTax ??
      (linesChanged || body.shipping_total !== undefined || body.discount_total !== undefined
        ? 0
        : row.tax_total),
  );

  // 1. give back everything the order holds
  const held = await sql<{
    id: number;
    variant_id: number;
    location_id: number;
    reserved: number;
    allocated: number;
  }>`
    select id, variant_id, location_id, reserved, allocated from order_allocations
    where order_id = ${order.id} and reserved + allocated > 0 order by variant_id, location_id`.execute(tx);
  await releaseUnits(
    tx,
    order.id,
    held.rows.map((h) => ({
      allocationId: h.id,
      variantId: h.variant_id,
      locationId: h.location_id,
      reserved: h.reserved,
      allocated: h.allocated,
    })),
    opts.actor,
  );

  // 2. the lines as they now are: changed in place, removed as cancelled, new ones appended
  const bySku = new Map(existing.map((l) => [l.sku, l]));
  const keep = new Set(wanted.map((l) => l.sku));
  for (const l of existing) {
    const w = wanted.find((x) => x.sku === l.sku);
    if (w) {
      await sql`update order_lines set quantity = ${l.cancelled + w.quantity}, unit_price = ${w.unit_price},
        backordered = 0 where id = ${l.id}`.execute(tx);
    } else if (!keep.has(l.sku) && l.quantity > l.cancelled) {
      await sql`update order_lines set cancelled = quantity, backordered = 0 where id = ${l.id}`.execute(tx);
    }
  }
  let nextNo = existing.reduce((m, l) => Math.max(m, l.line_no), 0);
  const placed: PlacedLine[] = [];
  for (const w of wanted) {
    const item = ctx.items.get(w.sku)!;
    const old = bySku.get(w.sku);
    let lineId = old?.id;
    let lineNo = old?.line_no;
    if (!old) {
      nextNo += 1;
      lineNo = nextNo;
      const ins = await sql<{ id: number }>`
        insert into order_lines (order_id, line_no, variant_id, sku, kind, title, quantity, unit_price)
        values (${order.id}, ${lineNo}, ${item.id}, ${item.sku}, ${item.kind}, ${w.title ?? null}, ${w.quantity},
          ${w.unit_price}) returning id`.execute(tx);
      lineId = ins.rows[0].id;
    }
    placed.push({
      lineId: lineId!,
      lineNo: lineNo!,
      item,
      quantity: w.quantity,
      title: w.title ?? old?.title ?? null,
      unitPrice: w.unit_price,
    });
  }

  // 3. hold them again, as placement does: one decision on free stock under row locks, one guarded statement
  const free = await lockFree(tx, stockedVariantIds(placed.map((p) => p.item)));
  const decided = decideLines(placed, free, {
    country: shipping.country,
    allowSplit: allowsSplit(ctx.channel),
    locations: ctx.locations,
  });
  if ("shortfalls" in decided) throw decided.shortfalls;
  const take = {
    orderId: order.id,
    holds: decided.holds,
    handedOver: [],
    commit: order.stock_committed_at !== null,
  };
  await takeStock(tx, [{ order: take, taken: planTake(take) }], { actor: opts.actor });
  for (const p of placed) {
    const d = decided.lines.get(p.lineNo)!;
    await sql`update order_lines set backordered = ${d.backordered}, decision = ${JSON.stringify(d.decision)}::jsonb
      where id = ${p.lineId}`.execute(tx);
  }

  // 4. totals, payment status, address, the timeline
  const events = await paymentEvents(tx, order.id);
  const pay = paymentStatus(events, totals.total);
  await sql`
    update orders set shipping_address = ${JSON.stringify(shipping)}::jsonb,
      billing_address = ${billing ? JSON.stringify(billing) : null}::jsonb,
      subtotal = ${totals.subtotal}, discount_total = ${totals.discount}, shipping_total = ${totals.shipping},
      tax_total = ${totals.tax}, total = ${totals.total}, payment_status = ${pay},
      note = coalesce(${body.note ?? null}, note), updated_at = now()
    where id = ${order.id}`.execute(tx);
  const what = [
    body.shipping_address ? "shipping address" : null,
    body.billing_address ? "billing address" : null,
    linesChanged ? `lines ${wanted.map((l) => `${l.quantity}×${l.sku}`).join(", ")}` : null,
    `total ${order.total} → ${totals.total}`,
  ].filter(Boolean);
  await record(tx, order.id, {
    from: order.status,
    to: order.status,
    action: "edit",
    actor: opts.actor,
    reason: `edited: ${what.join("; ")}`,
  });
  await emit(tx, [
    { type: "order.edited", payload: { id: order.id, number: order.number, total: totals.total } },
  ]);

  // 5. the placement checks again: a new address or total may need a hold
  order = await lockOrder(tx, order.id);
  if (order.status !== "on_hold") {
    const causes = placementChecks(
      {
        total: totals.total,
        currency: order.currency,
        email: row.customer_email,
        shipping,
        billing: billing ?? null,
        paymentSecured: paymentSecured(pay),
        ordersLastHour: 0,
      },
      settings,
    );
    if (causes.length) order = await holdLocked(tx, order, causes, settings, opts.actor);
  }
  await settle(tx, order.id, settings, opts.actor);
  return order.id;
}

/**
 * Drop-ship lines are on a supplier's purchase order with the customer as
 * ship-to, which an edit does not rewrite: an order with drop-ship units, or
 * an edit adding a drop-ship SKU, is refused (409) — cancel those lines and
 * place them again instead.
 */
async function refuseDropship(tx: Tx, orderId: number, number: string, adding: Map<string, unknown>) {
  const r = await sql<{ sku: string }>`
    select sku from order_lines where order_id = ${orderId} and dropship > 0 order by line_no`.execute(tx);
  const skus = [...new Set([...r.rows.map((x) => x.sku), ...adding.keys()])];
  if (skus.length === 0) return;
  throw new Conflict(
    `order ${number} has drop-ship lines (${skus.join(", ")}), which a supplier ships from its purchase order to this address: cancel those lines (POST /v1/orders/{id}/cancel with lines) and order them again instead of editing`,
    { dropship: skus },
  );
}
