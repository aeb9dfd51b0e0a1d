import Handlebars from "handlebars";
import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import type { OutboxConsumer } from "../integrations/dispatch/consumer.js";
import { BACKORDER_EVENTS, backorderMessages } from "./backorders.js";
import { type NotificationSettings, readNotificationSettings } from "./settings.js";

/**
 * Which committed events mail the customer, and what the message says. The
 * consumer runs in the dispatcher's transaction and only writes rows
 * (rendered subject and body); sender.ts sends them. One message per event,
 * kind and order (unique), so a redelivered batch makes nothing twice.
 * Backorder e-mails are decided in backorders.ts.
 */

type Kind = "shipped" | "refunded" | "backordered";

interface OrderFacts {
  id: number;
  number: string;
  channel: string;
  customer_email: string;
  customer_name: string | null;
  currency: string;
}

async function orderFacts(tx: Tx, id: number): Promise<OrderFacts | undefined> {
  const r = await sql<OrderFacts>`
    select o.id, o.number, c.code as channel, o.customer_email, o.customer_name, o.currency
    from orders o join channels c on c.id = o.channel_id where o.id = ${id}`.execute(tx);
  return r.rows[0];
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();
function render(template: string, data: Record<string, unknown>): string {
  let t = compiled.get(template);
  if (!t) {
    t = Handlebars.compile(template, { noEscape: true, strict: false });
    compiled.set(template, t);
  }
  return t(data);
}

export function trackingUrl(s: NotificationSettings, carrier: string | null, number: string | null) {
  const pattern = carrier ? s.tracking_urls[carrier] : undefined;
  return pattern && number ? pattern.replaceAll("{tracking_number}", encodeURIComponent(number)) : null;
}

function money(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
}

export const customerNotifications: OutboxConsumer = {
  name: "customer-notifications",
  types: ["fulfillment.shipped", "credit_note.issued", ...BACKORDER_EVENTS],
  async handle(tx, events) {
    const s = await readNotificationSettings(tx);
    if (!s.enabled) return;
    for (const e of events) {
      if (e.type === "order.backordered" || e.type.startsWith("purchase_order.")) {
        for (const m of await backorderMessages(tx, s, e)) {
          const order = (await orderFacts(tx, m.orderId))!;
          const data = {
            order_number: order.number,
            customer_name: order.customer_name ?? order.customer_email,
            currency: order.currency,
            ...m.data,
          };
          const t = s.templates.backordered;
          await sql`
            insert into customer_notifications (order_id, kind, event_id, to_address, subject, body, expected_date)
            values (${order.id}, 'backordered', ${e.id}, ${order.customer_email}, ${render(t.subject, data)},
              ${render(t.text, data)}, ${m.expectedDate}::date)
            on conflict (event_id, kind, order_id) do nothing`.execute(tx);
        }
        continue;
      }
      const p = e.payload as Record<string, unknown>;
      const kind: Kind = e.type === "fulfillment.shipped" ? "shipped" : "refunded";
      const order = await orderFacts(tx, Number(p.order_id));
      if (!order || s.channels_off.includes(order.channel)) continue;
      const data: Record<string, unknown> = {
        order_number: order.number,
        customer_name: order.customer_name ?? order.customer_email,
        currency: order.currency,
      };
      if (kind === "shipped") {
        data.carrier = p.carrier;
        data.tracking_number = p.tracking_number;
        data.tracking_url = trackingUrl(s, p.carrier as string | null, p.tracking_number as string | null);
      } else {
        data.amount = money(Number(p.total));
        data.credit_note = p.number;
      }
      const t = s.templates[kind];
      await sql`
        insert into customer_notifications (order_id, kind, event_id, to_address, subject, body)
        values (${order.id}, ${kind}, ${e.id}, ${order.customer_email}, ${render(t.subject, data)}, ${render(t.text, data)})
        on conflict (event_id, kind, order_id) do nothing`.execute(tx);
    }
  },
};

export interface NotificationView {
  id: number;
  kind: Kind;
  to_address: string;
  subject: string;
  status: "pending" | "sent" | "failed";
  /** For a backorder e-mail: the expected date it told (null: not known yet). */
  expected_date: string | null;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export async function orderNotifications(db: DB, orderId: number): Promise<NotificationView[]> {
  const r = await sql<NotificationView & { created_at: Date; sent_at: Date | null }>`
    select id, kind, to_address, subject, status, expected_date::text, attempts, last_error, created_at, sent_at
    from customer_notifications where order_id = ${orderId} order by id`.execute(db);
  return r.rows.map((x) => ({
    ...x,
    created_at: x.created_at.toISOString(),
    sent_at: x.sent_at?.toISOString() ?? null,
  }));
}
