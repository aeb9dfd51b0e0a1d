import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction, type Tx } from "../../../db/tx.js";
import type { OutboxEvent } from "../../../events/outbox.js";
import type { OutboxConsumer } from "../../dispatch/consumer.js";
import { recordFailure, resolveFailure } from "../../monitor/failures.js";
import { trackingUrl } from "../tracking.js";
import { type WooClientOptions, WooRequestFailed } from "./client.js";
import { wooClientFor } from "./stock.js";
import "../../../db/schema-shopify.js";

/**
 * Shipments back to WooCommerce, which has no shipment object in its REST
 * API: a shipped Keel fulfilment of a WooCommerce order becomes an order note
 * to the customer with the carrier, tracking number and URL, and once Keel has
 * shipped the whole order, the order's status `completed` (WooCommerce then
 * sends its own "order completed" e-mail). The consumer writes one row per
 * fulfilment in the dispatcher's transaction; `sendWooShipments` leases due
 * rows. A note is not idempotent, so it carries a marker (`Keel fulfilment N`)
 * and every attempt reads the order's notes first: an attempt whose reply was
 * lost is not noted twice. Setting `completed` again is harmless.
 */

interface ShippedPayload {
  id?: number;
  order_id?: number;
  carrier?: string | null;
  tracking_number?: string | null;
}

export const wooShipmentConsumer: OutboxConsumer = {
  name: "woocommerce-shipments",
  types: ["fulfillment.shipped"],
  async handle(tx: Tx, events: OutboxEvent[]) {
    for (const e of events) {
      const f = e.payload as ShippedPayload | null;
      if (!f?.id || !f.order_id) continue;
      const order = await tx
        .selectFrom("orders")
        .innerJoin("channels", "channels.id", "orders.channel_id")
        .select(["orders.channel_id", "orders.external_id", "channels.kind", "channels.config"])
        .where("orders.id", "=", f.order_id)
        .executeTakeFirst();
      if (order?.kind !== "woocommerce" || !order.external_id || !/^\d+$/.test(order.external_id)) continue;
      await tx
        .insertInto("woo_shipments")
        .values({
          fulfilment_id: f.id,
          channel_id: order.channel_id,
          order_id: f.order_id,
          remote_order_id: order.external_id,
          carrier: f.carrier ?? null,
          tracking_number: f.tracking_number ?? null,
          tracking_url: trackingUrl(
            (order.config ?? {}) as Record<string, unknown>,
            f.carrier,
            f.tracking_number,
          ),
        })
        .onConflict((oc) => oc.column("fulfilment_id").doNothing())
        .execute();
    }
  },
};

export const marker = (fulfilmentId: number) => `(Keel fulfilment ${fulfilmentId})`;

export interface WooShipmentOptions {
  client?: Partial<WooClientOptions>;
  /** attempts before a shipment counts as failed; default 20 */
  maxAttempts?: number;
  /** wait before the second attempt, doubling after (capped at 10 minutes); default 2 s */
  retryBaseMs?: number;
}

interface Due {
  fulfilment_id: number;
  channel_id: number;
  order_id: number;
  remote_order_id: string;
  carrier: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
  attempt: number;
  code: string;
  config: Record<string, unknown>;
}

/** One round: due shipments of every WooCommerce channel, oldest first; returns how many were tried. */
export async function sendWooShipments(db: DB, opts: WooShipmentOptions = {}): Promise<number> {
  const due = await sql<Due>`
    with due as (
      select fulfilment_id from woo_shipments
      where state = 'pending' and next_attempt_at <= now() and (leased_until is null or leased_until < now())
      order by fulfilment_id limit 20 for update skip locked)
    update woo_shipments s set leased_until = now() + interval '5 minutes', attempt = s.attempt + 1
    from due, channels c
    where s.fulfilment_id = due.fulfilment_id and c.id = s.channel_id
    returning s.fulfilment_id, s.channel_id, s.order_id, s.remote_order_id, s.carrier, s.tracking_number,
              s.tracking_url, s.attempt, c.code, c.config`.execute(db);
  for (const s of due.rows) {
    const subject = `${s.code}:fulfilment ${s.fulfilment_id}`;
    let outcome: {
      state: "sent" | "pending" | "failed";
      noteId?: string;
      completed?: boolean;
      error?: string;
    };
    try {
      outcome = { state: "sent", ...(await send(db, s, opts)) };
    } catch (err) {
      const e = err as Error;
      // 429, 5xx, timeouts and lost connections are tried again; WooCommerce refusing (4xx) is not
      const retry =
        !(err instanceof WooRequestFailed) || err.status === null || err.status === 429 || err.status >= 500;
      outcome = {
        state: retry && s.attempt < (opts.maxAttempts ?? 20) ? "pending" : "failed",
        error: e.message,
      };
    }
    await inTransaction(db, async (tx) => {
      await tx
        .updateTable("woo_shipments")
        .set({
          state: outcome.state,
          note_id: outcome.noteId ?? null,
          completed: outcome.completed ?? false,
          error: outcome.error ?? null,
          leased_until: null,
          sent_at: outcome.state === "sent" ? new Date() : null,
          next_attempt_at: new Date(
            Date.now() + Math.min(600_000, (opts.retryBaseMs ?? 2000) * 2 ** (s.attempt - 1)),
          ),
        })
        .where("fulfilment_id", "=", s.fulfilment_id)
        .execute();
      if (outcome.state === "sent")
        await resolveFailure(tx, { source: "woocommerce", operation: "confirm_shipment", subject });
      else
        await recordFailure(tx, {
          source: "woocommerce",
          channel: s.code,
          operation: "confirm_shipment",
          subject,
          error: outcome.error ?? "not sent",
          detail: {
            fulfilment_id: s.fulfilment_id,
            order: s.remote_order_id,
            will_retry: outcome.state === "pending",
          },
        });
    });
  }
  return due.rows.length;
}

async function send(db: DB, s: Due, opts: WooShipmentOptions) {
  const client = wooClientFor(s.config, opts.client);
  // a note is not idempotent: sent once per attempt (no blind retry); the next attempt looks first
  const once = wooClientFor(s.config, { ...opts.client, attempts: 1 });
  const path = `/orders/${encodeURIComponent(s.remote_order_id)}`;
  const notes = await client.request<{ id: number | string; note: string }[]>("GET", `${path}/notes`);
  const tag = marker(s.fulfilment_id);
  let noteId = notes.find((n) => n.note.includes(tag))?.id;
  if (noteId === undefined) {
    const parts = [s.carrier, s.tracking_number].filter(Boolean).join(" ");
    const note = `${parts ? `Shipped with ${parts}` : "Shipped"}${s.tracking_url ? `: ${s.tracking_url}` : ""} ${tag}`;
    const created = await once.request<{ id: number | string }>("POST", `${path}/notes`, {
      note,
      customer_note: true,
    });
    noteId = created.id;
  }
  // completed once Keel has shipped every unit of the order
  const order = await db
    .selectFrom("orders")
    .select("status")
    .where("id", "=", s.order_id)
    .executeTakeFirst();
  const complete = order?.status === "shipped" || order?.status === "completed";
  if (complete) await client.request("PUT", path, { status: "completed" });
  return { noteId: String(noteId), completed: complete };
}
