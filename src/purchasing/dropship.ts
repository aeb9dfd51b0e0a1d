import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { lockOrder as lockCustomerOrder } from "../orders/core.js";
import { shipFromSupplier } from "../orders/dropship.js";
import { record } from "../orders/transitions.js";
import { assertTransition } from "./lifecycle.js";
import { getPurchaseOrder, lockOrder, type PurchaseOrderView, poNumber } from "./orders.js";
import { announce, factsOf } from "./transitions.js";

/**
 * Drop-ship purchase orders: the supplier ships the goods straight to the
 * customer. Placement calls `raiseDropshipOrders` for an order whose lines it
 * did not hold (order_lines.dropship): per supplier, the order's units go on
 * the day's open drop-ship purchase order to that supplier for that ship-to
 * (customer e-mail and shipping address), raised submitted if there is none.
 * "The day's open one" is a partial unique index (migrations/082_dropship.sql),
 * so two placements at once find one order: the second waits on the first's
 * index entry and then adds to it. A drop-ship order never touches
 * `incoming` — nothing comes to a location.
 *
 * Locks: a customer order's row before the purchase order's, always (placement
 * and cancellation hold the customer order already; shipping locks every
 * customer order on it first, in id order).
 */

interface RaiseRow {
  order_line_id: number;
  variant_id: number;
  sku: string;
  quantity: number;
  supplier_id: number;
  supplier: string;
  currency: string;
  cost: number;
  lead_time_days: number;
}

/** Puts the order's drop-ship units on their suppliers' purchase orders of the day. */
export async function raiseDropshipOrders(
  tx: Tx,
  order: { id: number; status: string },
  actor: string,
): Promise<void> {
  const rows = (
    await sql<RaiseRow>`
      select l.id as order_line_id, l.variant_id, l.sku, l.dropship as quantity, d.supplier_id, d.code as supplier,
        d.currency, d.cost, d.lead_time_days
      from order_lines l
      join lateral (
        select si.supplier_id, s.code, s.currency, si.cost, coalesce(si.lead_time_days, s.lead_time_days) as lead_time_days
        from supplier_items si join suppliers s on s.id = si.supplier_id and s.active
        where si.variant_id = l.variant_id and si.dropship
        order by si.priority, si.cost, s.id limit 1) d on true
      where l.order_id = ${order.id} and l.dropship > 0
      order by d.supplier_id, l.line_no`.execute(tx)
  ).rows;
  const suppliers = [...new Set(rows.map((r) => r.supplier_id))];
  for (const supplierId of suppliers) {
    const mine = rows.filter((r) => r.supplier_id === supplierId);
    const lead = Math.min(...mine.map((r) => r.lead_time_days));
    const po = (
      await sql<{ id: number; created: boolean }>`
        insert into purchase_orders (supplier_id, location_id, status, currency, ship_to, ship_to_key, dropship_day,
          expected_date, reference, actor, submitted_at)
        select ${supplierId}, null, 'submitted', ${mine[0].currency},
          jsonb_build_object('name', coalesce(o.customer_name, o.shipping_address ->> 'name'), 'email', o.customer_email,
            'phone', o.customer_phone, 'address', o.shipping_address),
          md5(lower(o.customer_email) || '|' || o.shipping_address::text),
          (now() at time zone 'UTC')::date, (now() at time zone 'UTC')::date + ${lead}::int, 'drop-ship', ${actor}, now()
        from orders o where o.id = ${order.id}
        on conflict (supplier_id, ship_to_key, dropship_day) where status = 'submitted' and ship_to is not null
        do update set updated_at = now()
        returning id, (xmax = 0) as created`.execute(tx)
    ).rows[0];
    // one purchase order line per variant: the order's lines of one SKU add up first
    const perVariant = new Map<number, { quantity: number; cost: number; lead: number }>();
    for (const r of mine) {
      const v = perVariant.get(r.variant_id) ?? { quantity: 0, cost: r.cost, lead: r.lead_time_days };
      v.quantity += r.quantity;
      perVariant.set(r.variant_id, v);
    }
    const vs = [...perVariant];
    await sql`
      with base as (select coalesce(max(line_no), 0) as m from purchase_order_lines where purchase_order_id = ${po.id})
      insert into purchase_order_lines (purchase_order_id, line_no, variant_id, quantity, unit_cost, expected_date)
      select ${po.id}, base.m + u.n, u.variant_id, u.q, u.cost, (now() at time zone 'UTC')::date + u.lead
      from base, unnest(${vs.map(([id]) => id)}::bigint[], ${vs.map(([, v]) => v.quantity)}::int[],
        ${vs.map(([, v]) => v.cost)}::bigint[], ${vs.map(([, v]) => v.lead)}::int[])
        with ordinality as u(variant_id, q, cost, lead, n)
      on conflict (purchase_order_id, variant_id) do update set quantity = purchase_order_lines.quantity + excluded.quantity`.execute(
      tx,
    );
    await sql`
      insert into dropship_lines (purchase_order_id, order_line_id, order_id, variant_id, quantity)
      select ${po.id}, u.line_id, ${order.id}, u.variant_id, u.q
      from unnest(${mine.map((r) => r.order_line_id)}::bigint[], ${mine.map((r) => r.variant_id)}::bigint[],
        ${mine.map((r) => r.quantity)}::int[]) as u(line_id, variant_id, q)`.execute(tx);
    const number = poNumber(po.id);
    await record(tx, order.id, {
      from: order.status,
      to: order.status,
      action: "dropship",
      actor,
      reason: `${mine.map((r) => `${r.quantity} × ${r.sku}`).join(", ")} to be shipped by supplier ${mine[0].supplier} on ${number}`,
    });
    const view = await getPurchaseOrder(tx, po.id);
    await emit(
      tx,
      po.created
        ? [
            { type: "purchase_order.created", payload: view },
            { type: "purchase_order.submitted", payload: view },
          ]
        : [{ type: "purchase_order.updated", payload: view }],
    );
  }
}

/**
 * Takes cancelled drop-ship units of an order off their purchase orders (the
 * caller holds the customer order's lock and has taken the units off its
 * lines): `units` per order line id, or every open unit when omitted. A
 * purchase order line left with nothing goes; a purchase order left with no
 * line is cancelled.
 */
export async function takeOffDropshipOrders(
  tx: Tx,
  order: { id: number; status: string },
  actor: string,
  units?: Map<number, number>,
): Promise<void> {
  const orderId = order.id;
  const open = (
    await sql<{ purchase_order_id: number; order_line_id: number; variant_id: number; open: number }>`
      select purchase_order_id, order_line_id, variant_id, quantity - cancelled - shipped as open
      from dropship_lines where order_id = ${orderId} and quantity - cancelled - shipped > 0
      order by purchase_order_id, order_line_id`.execute(tx)
  ).rows;
  if (open.length === 0) return;
  const poIds = [...new Set(open.map((r) => r.purchase_order_id))];
  await sql`select id from purchase_orders where id = any(${poIds}::bigint[]) order by id for update`.execute(
    tx,
  );
  const left = new Map(units ?? []);
  const takes: { poId: number; lineId: number; variantId: number; n: number }[] = [];
  for (const r of open) {
    const n = units ? Math.min(r.open, left.get(r.order_line_id) ?? 0) : r.open;
    if (n <= 0) continue;
    if (units) left.set(r.order_line_id, (left.get(r.order_line_id) ?? 0) - n);
    takes.push({ poId: r.purchase_order_id, lineId: r.order_line_id, variantId: r.variant_id, n });
  }
  if (takes.length === 0) return;
  const col = <T>(f: (t: (typeof takes)[number]) => T) => takes.map(f);
  await sql`
    update dropship_lines d set cancelled = d.cancelled + u.n
    from unnest(${col((t) => t.poId)}::bigint[], ${col((t) => t.lineId)}::bigint[], ${col((t) => t.n)}::int[])
      as u(po, line_id, n)
    where d.purchase_order_id = u.po and d.order_line_id = u.line_id`.execute(tx);
  // the purchase order lines shrink by what was taken off; those left with nothing go
  await sql`
    with u as (
      select po, variant_id, sum(n)::int as n from unnest(${col((t) => t.poId)}::bigint[],
        ${col((t) => t.variantId)}::bigint[], ${col((t) => t.n)}::int[]) as x(po, variant_id, n) group by 1, 2
    ), gone as (
      delete from purchase_order_lines pl using u
      where pl.purchase_order_id = u.po and pl.variant_id = u.variant_id and pl.quantity <= u.n
      returning pl.purchase_order_id
    )
    update purchase_order_lines pl set quantity = pl.quantity - u.n from u
    where pl.purchase_order_id = u.po and pl.variant_id = u.variant_id and pl.quantity > u.n`.execute(tx);
  for (const poId of [...new Set(takes.map((t) => t.poId))]) {
    const ended = await sql<{ id: number }>`
      update purchase_orders set status = 'cancelled', ended_at = now(), updated_at = now(),
        end_reason = 'every order line on it was cancelled'
      where id = ${poId} and status = 'submitted'
        and not exists (select 1 from purchase_order_lines where purchase_order_id = ${poId})
      returning id`.execute(tx);
    if (ended.rows.length) await announce(tx, poId, "cancelled");
    else await emit(tx, [{ type: "purchase_order.updated", payload: await getPurchaseOrder(tx, poId) }]);
    await record(tx, orderId, {
      from: order.status,
      to: order.status,
      action: "dropship_cancelled",
      actor,
      reason: `${takes
        .filter((t) => t.poId === poId)
        .reduce(
          (s, t) => s + t.n,
          0,
        )} units taken off ${poNumber(poId)}${ended.rows.length ? ", which is cancelled" : ""}`,
    });
  }
}

/**
 * The supplier shipped the drop-ship order to the customer: every open line
 * ships as one fulfilment per customer order on it (with carrier and tracking
 * number), and the purchase order is `shipped`. Refused whole when it shipped
 * already, is not a drop-ship order, or one of its customer orders cannot ship
 * now (on hold, not approved): 409, nothing changed.
 */
export async function shipDropshipOrder(
  tx: Tx,
  id: number,
  ship: { carrier: string; tracking_number: string },
  actor: string,
): Promise<PurchaseOrderView> {
  const customerOrders = async () =>
    (
      await sql<{ order_id: number }>`
        select distinct order_id from dropship_lines where purchase_order_id = ${id} order by order_id`.execute(
        tx,
      )
    ).rows.map((r) => r.order_id);
  const locked = new Set<number>();
  for (const orderId of await customerOrders()) {
    await lockCustomerOrder(tx, orderId);
    locked.add(orderId);
  }
  const po = await lockOrder(tx, id);
  assertTransition(factsOf(po), "ship");
  // an order that joined between the read and the lock: it committed already, so its row is free
  for (const orderId of await customerOrders()) {
    if (!locked.has(orderId)) await lockCustomerOrder(tx, orderId);
  }
  const open = (
    await sql<{
      order_id: number;
      order_line_id: number;
      variant_id: number;
      sku: string;
      open: number;
      unit_cost: number;
      supplier: string;
    }>`
      select d.order_id, d.order_line_id, d.variant_id, v.sku, d.quantity - d.cancelled - d.shipped as open,
        pl.unit_cost, s.code as supplier
      from dropship_lines d join variants v on v.id = d.variant_id
      join purchase_orders po on po.id = d.purchase_order_id join suppliers s on s.id = po.supplier_id
      join purchase_order_lines pl on pl.purchase_order_id = d.purchase_order_id and pl.variant_id = d.variant_id
      where d.purchase_order_id = ${id} and d.quantity - d.cancelled - d.shipped > 0
      order by d.order_id, d.order_line_id`.execute(tx)
  ).rows;
  for (const orderId of [...new Set(open.map((r) => r.order_id))]) {
    const mine = open.filter((r) => r.order_id === orderId);
    await shipFromSupplier(
      tx,
      orderId,
      {
        purchaseOrderId: id,
        purchaseOrderNumber: poNumber(id),
        supplier: mine[0].supplier,
        currency: po.currency,
        carrier: ship.carrier,
        tracking_number: ship.tracking_number,
        lines: mine.map((r) => ({
          orderLineId: r.order_line_id,
          variantId: r.variant_id,
          sku: r.sku,
          quantity: r.open,
          unitCost: r.unit_cost,
        })),
      },
      { actor },
    );
  }
  await sql`update dropship_lines set shipped = quantity - cancelled where purchase_order_id = ${id}`.execute(
    tx,
  );
  await sql`
    update purchase_orders set status = 'shipped', carrier = ${ship.carrier}, tracking_number = ${ship.tracking_number},
      shipped_at = now(), ended_at = now(), updated_at = now()
    where id = ${id}`.execute(tx);
  return announce(tx, id, "shipped");
}
