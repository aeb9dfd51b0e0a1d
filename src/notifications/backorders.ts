import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import type { OutboxEvent } from "../events/outbox.js";
import { expectedDatesFor } from "../purchasing/expected.js";
import type { NotificationSettings } from "./settings.js";

/**
 * Backorder e-mails. `order.backordered` (the state machine's await_stock)
 * mails the customer which units wait and when they are expected — the
 * earliest expected date of an open purchase order line per SKU, as the
 * backorders report computes recovery (src/purchasing/expected.ts); the
 * order's date is the latest of its waiting SKUs, unknown while any has none.
 * A purchase order event (submitted, received, cancelled, closed…) may move
 * that date: every order still waiting for one of its SKUs whose customer was
 * told a different date is mailed again. The last date told is kept on the
 * message row (customer_notifications.expected_date).
 */

export const BACKORDER_EVENTS = ["order.backordered", "purchase_order.*"];

export interface BackorderMessage {
  orderId: number;
  expectedDate: string | null;
  data: Record<string, unknown>;
}

const OPEN = ["received", "on_hold", "approved", "backordered", "preparing", "partially_shipped"];

/** The orders an event concerns: the order itself, or those waiting for a SKU on the purchase order. */
async function ordersOf(tx: Tx, e: OutboxEvent): Promise<number[]> {
  const p = e.payload as { id?: number; lines?: { sku: string }[] };
  if (e.type === "order.backordered") return p.id ? [Number(p.id)] : [];
  const skus = (p.lines ?? []).map((l) => l.sku);
  if (skus.length === 0) return [];
  const r = await sql<{ order_id: number }>`
    select distinct l.order_id from order_lines l join orders o on o.id = l.order_id
    where l.backordered > 0
      and (l.variant_id in (select id from variants where sku = any(${skus}::text[]))
        -- a bundle waits for its components
        or l.variant_id in (select bv.id from variants bv join bundle_components bc on bc.product_id = bv.product_id
          join variants c on c.id = bc.component_variant_id where c.sku = any(${skus}::text[])))
      and o.status = any(${OPEN}::text[])
      and exists (select 1 from customer_notifications n where n.order_id = l.order_id and n.kind = 'backordered')
    order by l.order_id`.execute(tx);
  return r.rows.map((x) => x.order_id);
}

/** What to mail for an event: per order, its waiting lines and dates (nothing when nothing moved). */
export async function backorderMessages(
  tx: Tx,
  s: NotificationSettings,
  e: OutboxEvent,
): Promise<BackorderMessage[]> {
  const out: BackorderMessage[] = [];
  for (const orderId of await ordersOf(tx, e)) {
    // a bundle waits for its components: it is expected when the last of them is
    const r = await sql<{ channel: string; parts: number[]; sku: string; quantity: number }>`
      select c.code as channel, l.sku, sum(l.backordered)::int as quantity,
        coalesce((select array_agg(bc.component_variant_id) from variants bv
          join bundle_components bc on bc.product_id = bv.product_id
          where l.kind = 'bundle' and bv.id = l.variant_id), array[l.variant_id]) as parts
      from order_lines l join orders o on o.id = l.order_id join channels c on c.id = o.channel_id
      where l.order_id = ${orderId} and l.backordered > 0
      group by c.code, l.variant_id, l.kind, l.sku order by min(l.line_no)`.execute(tx);
    if (r.rows.length === 0 || s.channels_off.includes(r.rows[0].channel)) continue;
    const dates = await expectedDatesFor(
      tx,
      r.rows.flatMap((l) => l.parts.map(Number)),
    );
    const latest = (ds: (string | null)[]) => (ds.some((d) => !d) ? null : (ds as string[]).sort().at(-1)!);
    const lines = r.rows.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      expected_date: latest(l.parts.map((v) => dates.get(Number(v)) ?? null)),
    }));
    const expected = latest(lines.map((l) => l.expected_date));
    const told = await sql<{ expected_date: string | null }>`
      select expected_date::text from customer_notifications where order_id = ${orderId} and kind = 'backordered'
      order by id desc limit 1`.execute(tx);
    const moved = e.type !== "order.backordered";
    if (moved && (told.rows.length === 0 || told.rows[0].expected_date === expected)) continue;
    out.push({
      orderId,
      expectedDate: expected,
      data: {
        expected_date: expected,
        date_moved: moved,
        previous_date: moved ? told.rows[0].expected_date : null,
        lines,
      },
    });
  }
  return out;
}
