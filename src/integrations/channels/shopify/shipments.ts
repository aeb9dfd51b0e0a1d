import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction, type Tx } from "../../../db/tx.js";
import type { OutboxEvent } from "../../../events/outbox.js";
import type { OutboxConsumer } from "../../dispatch/consumer.js";
import { Repeating } from "../../dispatch/repeating.js";
import { recordFailure, resolveFailure } from "../../monitor/failures.js";
import { trackingUrl } from "../tracking.js";
import { ShopifyError } from "./client.js";
import type { ShopifyPusher } from "./push.js";
import { shopifyChannels } from "./targets.js";
import "../../../db/schema-shopify.js";

/**
 * Shipments back to Shopify: a shipped Keel fulfilment of an order whose
 * channel is a Shopify channel (external id = the order's GID) becomes
 * `fulfillmentCreate` on that order's open fulfillment orders, with the
 * carrier, tracking number and tracking URL (see ../tracking.ts). The consumer writes one row per fulfilment
 * in the dispatcher's transaction; the sender leases due rows. Before each
 * attempt the sender reads the fulfillment orders again and only asks for
 * what is still open there, so an attempt whose reply was lost is not
 * fulfilled twice (fulfillmentCreate takes no idempotency key).
 */

interface ShippedPayload {
  id?: number;
  order_id?: number;
  carrier?: string | null;
  tracking_number?: string | null;
  lines?: { sku: string; quantity: number; for_sku: string | null }[];
}

export const shopifyShipmentConsumer: OutboxConsumer = {
  name: "shopify-shipments",
  types: ["fulfillment.shipped"],
  async handle(tx: Tx, events: OutboxEvent[]) {
    const channels = await shopifyChannels(tx);
    if (channels.length === 0) return;
    const byId = new Map(channels.map((c) => [c.id, c]));
    for (const e of events) {
      const f = e.payload as ShippedPayload | null;
      if (!f?.id || !f.order_id) continue;
      const order = await tx
        .selectFrom("orders")
        .innerJoin("channels", "channels.id", "orders.channel_id")
        .select(["orders.channel_id", "orders.external_id", "channels.config"])
        .where("orders.id", "=", f.order_id)
        .executeTakeFirst();
      if (!order || !byId.has(order.channel_id) || !order.external_id?.startsWith("gid://shopify/Order/"))
        continue;
      await tx
        .insertInto("shopify_shipments")
        .values({
          fulfilment_id: f.id,
          channel_id: order.channel_id,
          order_gid: order.external_id,
          carrier: f.carrier ?? null,
          tracking_number: f.tracking_number ?? null,
          tracking_url: trackingUrl(
            (order.config ?? {}) as Record<string, unknown>,
            f.carrier,
            f.tracking_number,
          ),
          lines: JSON.stringify(shopifyLines(f.lines ?? [])),
        })
        .onConflict((oc) => oc.column("fulfilment_id").doNothing())
        .execute();
    }
  },
};

/**
 * Keel's fulfilment lines as Shopify order lines: bundle components count
 * as their bundle (as many bundles as the scarcest component line shipped).
 */
export function shopifyLines(lines: { sku: string; quantity: number; for_sku: string | null }[]) {
  const plain = new Map<string, number>();
  const bundles = new Map<string, number>();
  for (const l of lines) {
    if (l.for_sku)
      bundles.set(l.for_sku, Math.min(bundles.get(l.for_sku) ?? Number.POSITIVE_INFINITY, l.quantity));
    else plain.set(l.sku, (plain.get(l.sku) ?? 0) + l.quantity);
  }
  for (const [sku, q] of bundles) plain.set(sku, (plain.get(sku) ?? 0) + q);
  return [...plain].map(([sku, quantity]) => ({ sku, quantity }));
}

// Query cost is first × nested first (Shopify multiplies connection sizes): 5 fulfillment orders of
// at most 50 lines each costs ~270 points, within the 1,000-point single-query limit of small plans
// (20 × 100 cost ~2,060 and is refused with MAX_COST_EXCEEDED)
const FULFILLMENT_ORDERS = `query KeelFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes { id status lineItems(first: 50) { nodes { id sku remainingQuantity } } }
    }
  }
}`;

const FULFILL = `mutation KeelFulfill($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}`;

interface FulfillmentOrderNode {
  id: string;
  status: string;
  lineItems: { nodes: { id: string; sku: string | null; remainingQuantity: number }[] };
}

const OPEN = new Set(["OPEN", "IN_PROGRESS"]);

export class ShipmentSender {
  private readonly repeating: Repeating;
  constructor(
    private readonly db: DB,
    private readonly pusher: ShopifyPusher,
    private readonly opts: {
      intervalMs?: number;
      log?: FastifyBaseLogger;
      maxAttempts?: number;
      /** wait before the second attempt, doubling after (capped at 10 minutes); default 2 s */
      retryBaseMs?: number;
    } = {},
  ) {
    this.repeating = new Repeating(() => this.sendDue(), {
      intervalMs: opts.intervalMs ?? 500,
      log: opts.log,
      failure: "shopify shipment sending failed",
    });
  }
  start() {
    this.repeating.start();
  }
  stop() {
    return this.repeating.stop();
  }

  async sendDue(): Promise<number> {
    const due = await sql<{
      fulfilment_id: number;
      channel_id: number;
      order_gid: string;
      carrier: string | null;
      tracking_number: string | null;
      tracking_url: string | null;
      lines: { sku: string; quantity: number }[];
      attempt: number;
    }>`
      with due as (
        select fulfilment_id from shopify_shipments
        where state = 'pending' and next_attempt_at <= now() and (leased_until is null or leased_until < now())
        order by fulfilment_id limit 20 for update skip locked)
      update shopify_shipments s set leased_until = now() + interval '5 minutes', attempt = s.attempt + 1
      from due where s.fulfilment_id = due.fulfilment_id
      returning s.fulfilment_id, s.channel_id, s.order_gid, s.carrier, s.tracking_number, s.tracking_url, s.lines, s.attempt`.execute(
      this.db,
    );
    if (due.rows.length === 0) return 0;
    const channels = new Map((await shopifyChannels(this.db)).map((c) => [c.id, c]));
    for (const s of due.rows) {
      const ch = channels.get(s.channel_id);
      const subject = `${ch?.code ?? s.channel_id}:fulfilment ${s.fulfilment_id}`;
      let outcome: { state: "sent" | "pending" | "failed"; gid?: string; error?: string };
      try {
        if (!ch) throw new Error("the channel is no longer configured for Shopify");
        outcome = await this.send(ch, s);
      } catch (err) {
        const e = err as Error;
        const retry = err instanceof ShopifyError && err.problem !== "rejected" && err.problem !== "graphql";
        outcome = {
          state: retry && s.attempt < (this.opts.maxAttempts ?? 20) ? "pending" : "failed",
          error: e.message,
        };
      }
      await inTransaction(this.db, async (tx) => {
        await tx
          .updateTable("shopify_shipments")
          .set({
            state: outcome.state,
            fulfillment_gid: outcome.gid ?? null,
            error: outcome.error ?? null,
            leased_until: null,
            sent_at: outcome.state === "sent" ? new Date() : null,
            next_attempt_at: new Date(
              Date.now() + Math.min(600_000, (this.opts.retryBaseMs ?? 2000) * 2 ** (s.attempt - 1)),
            ),
          })
          .where("fulfilment_id", "=", s.fulfilment_id)
          .execute();
        if (outcome.state === "sent")
          await resolveFailure(tx, { source: "shopify", operation: "confirm_shipment", subject });
        else
          await recordFailure(tx, {
            source: "shopify",
            channel: ch?.code ?? null,
            operation: "confirm_shipment",
            subject,
            error: outcome.error ?? "not sent",
            detail: {
              fulfilment_id: s.fulfilment_id,
              order: s.order_gid,
              will_retry: outcome.state === "pending",
            },
          });
      });
    }
    return due.rows.length;
  }

  private async send(
    ch: NonNullable<Awaited<ReturnType<typeof shopifyChannels>>[number]>,
    s: {
      order_gid: string;
      carrier: string | null;
      tracking_number: string | null;
      tracking_url: string | null;
      lines: { sku: string; quantity: number }[];
    },
  ): Promise<{ state: "sent" | "failed"; gid?: string; error?: string }> {
    const client = this.pusher.client(ch);
    const r = await client.request<{
      order: { fulfillmentOrders: { nodes: FulfillmentOrderNode[] } } | null;
    }>(FULFILLMENT_ORDERS, { id: s.order_gid }, { estimatedCost: 270 });
    if (!r.data.order) return { state: "failed", error: `order ${s.order_gid} not found on Shopify` };
    // what is still to ship, by SKU, taken from the open fulfillment orders in their order
    const want = new Map(s.lines.map((l) => [l.sku, l.quantity]));
    const groups: {
      fulfillmentOrderId: string;
      fulfillmentOrderLineItems: { id: string; quantity: number }[];
    }[] = [];
    for (const fo of r.data.order.fulfillmentOrders.nodes) {
      if (!OPEN.has(fo.status)) continue;
      const items: { id: string; quantity: number }[] = [];
      for (const li of fo.lineItems.nodes) {
        const left = li.sku ? (want.get(li.sku) ?? 0) : 0;
        const q = Math.min(left, li.remainingQuantity);
        if (q <= 0) continue;
        items.push({ id: li.id, quantity: q });
        want.set(li.sku!, left - q);
      }
      if (items.length) groups.push({ fulfillmentOrderId: fo.id, fulfillmentOrderLineItems: items });
    }
    if (groups.length === 0) return { state: "sent" }; // nothing left open: an earlier attempt went through
    const res = await client.request<{
      fulfillmentCreate: {
        fulfillment: { id: string } | null;
        userErrors: { field: string[] | null; message: string }[];
      };
    }>(
      FULFILL,
      {
        fulfillment: {
          lineItemsByFulfillmentOrder: groups,
          notifyCustomer: true,
          trackingInfo: {
            company: s.carrier ?? undefined,
            number: s.tracking_number ?? undefined,
            url: s.tracking_url ?? undefined,
          },
        },
      },
      { retryAmbiguous: false },
    ); // a lost reply: the next attempt reads the fulfillment orders first
    const out = res.data.fulfillmentCreate;
    if (out.userErrors.length || !out.fulfillment)
      return {
        state: "failed",
        error: out.userErrors.map((e) => e.message).join("; ") || "no fulfillment created",
      };
    return { state: "sent", gid: out.fulfillment.id };
  }
}
