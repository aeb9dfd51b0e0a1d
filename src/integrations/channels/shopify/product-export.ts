import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction, type Tx } from "../../../db/tx.js";
import type { OutboxEvent } from "../../../events/outbox.js";
import type { OutboxConsumer } from "../../dispatch/consumer.js";
import { Repeating } from "../../dispatch/repeating.js";
import { recordFailure, resolveFailure } from "../../monitor/failures.js";
import { currencyExponent } from "../inbox-json.js";
import { ShopifyError } from "./client.js";
import type { ShopifyPusher } from "./push.js";
import { type ShopifyChannel, shopifyChannels } from "./targets.js";
import "../../../db/schema-shopify.js";

/**
 * Products out, for channels with `products: "export"`: a created or changed
 * Keel product's title, status and variant prices go to the Shopify product
 * its SKUs are mapped to (by the product sync), with `productUpdate` and
 * `productVariantsBulkUpdate` in one call. The consumer keeps one row per
 * Shopify product holding only the latest wanted state; the sender leases due
 * rows. Both mutations set absolute values, so sending one again is harmless.
 * Products and SKUs Shopify does not have are not created there.
 */

interface ProductPayload {
  id?: number;
  title?: string;
  status?: string;
  variants?: { sku: string; price: number; currency: string }[];
}

const STATUS: Record<string, string> = { active: "ACTIVE", draft: "DRAFT", archived: "ARCHIVED" };

/** Minor units as Shopify's decimal string: 1999 EUR → "19.99". */
export function decimal(minor: number, currency: string): string {
  const exp = currencyExponent(currency);
  if (exp === 0) return String(minor);
  const s = String(Math.abs(minor)).padStart(exp + 1, "0");
  return `${minor < 0 ? "-" : ""}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

export const shopifyProductConsumer: OutboxConsumer = {
  name: "shopify-products",
  types: ["product.created", "product.updated"],
  async handle(tx: Tx, events: OutboxEvent[]) {
    const channels = (await shopifyChannels(tx)).filter((c) => c.settings.products === "export");
    if (channels.length === 0) return;
    for (const e of events) {
      const p = e.payload as ProductPayload | null;
      if (!p?.id || !p.title || !p.status || !p.variants?.length) continue;
      for (const ch of channels) {
        const mapped = await tx
          .selectFrom("shopify_inventory_items")
          .select(["sku", "variant_gid", "product_gid"])
          .where("channel_id", "=", ch.id)
          .where(
            "sku",
            "in",
            p.variants.map((v) => v.sku),
          )
          .execute();
        const byProduct = new Map<string, { id: string; price: string }[]>();
        for (const m of mapped) {
          if (!m.product_gid) continue;
          const v = p.variants.find((x) => x.sku === m.sku)!;
          const list = byProduct.get(m.product_gid) ?? [];
          list.push({ id: m.variant_gid, price: decimal(v.price, v.currency) });
          byProduct.set(m.product_gid, list);
        }
        for (const [gid, variants] of [...byProduct].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const wanted = JSON.stringify({
            title: p.title,
            status: STATUS[p.status] ?? "DRAFT",
            variants: variants.sort((a, b) => (a.id < b.id ? -1 : 1)),
          });
          await sql`insert into shopify_product_pushes (channel_id, product_gid, keel_product_id, wanted)
            values (${ch.id}, ${gid}, ${p.id}, ${wanted}::jsonb)
            on conflict (channel_id, product_gid) do update set wanted = excluded.wanted,
              keel_product_id = excluded.keel_product_id, state = 'pending', attempt = 0, error = null,
              next_attempt_at = now(), version = shopify_product_pushes.version + 1, updated_at = now()
            where shopify_product_pushes.wanted <> excluded.wanted or shopify_product_pushes.state = 'failed'`.execute(
            tx,
          );
        }
      }
    }
  },
};

const UPDATE = `mutation KeelProductUpdate($product: ProductUpdateInput!, $productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productUpdate(product: $product) { product { id } userErrors { field message } }
  productVariantsBulkUpdate(productId: $productId, variants: $variants) { productVariants { id price } userErrors { field message } }
}`;

interface Due {
  channel_id: number;
  product_gid: string;
  wanted: { title: string; status: string; variants: { id: string; price: string }[] };
  attempt: number;
  version: number;
}

export class ProductSender {
  private readonly repeating: Repeating;
  constructor(
    private readonly db: DB,
    private readonly pusher: ShopifyPusher,
    private readonly opts: { intervalMs?: number; log?: FastifyBaseLogger; retryBaseMs?: number } = {},
  ) {
    this.repeating = new Repeating(() => this.sendDue(), {
      intervalMs: opts.intervalMs ?? 500,
      log: opts.log,
      failure: "shopify product export failed",
    });
  }
  start() {
    this.repeating.start();
  }
  stop() {
    return this.repeating.stop();
  }

  async sendDue(): Promise<number> {
    const due = await sql<Due>`
      with due as (
        select channel_id, product_gid from shopify_product_pushes
        where state = 'pending' and next_attempt_at <= now() and (leased_until is null or leased_until < now())
        order by next_attempt_at limit 20 for update skip locked)
      update shopify_product_pushes p set leased_until = now() + interval '5 minutes', attempt = p.attempt + 1
      from due where p.channel_id = due.channel_id and p.product_gid = due.product_gid
      returning p.channel_id, p.product_gid, p.wanted, p.attempt, p.version`.execute(this.db);
    if (due.rows.length === 0) return 0;
    const channels = new Map((await shopifyChannels(this.db)).map((c) => [c.id, c]));
    for (const row of due.rows) {
      const ch = channels.get(row.channel_id);
      const subject = `${ch?.code ?? row.channel_id}:${row.product_gid}`;
      let error: string | null = null;
      let retry = false;
      try {
        if (!ch) throw new Error("the channel is no longer configured for Shopify");
        error = await this.send(ch, row);
      } catch (err) {
        error = (err as Error).message;
        retry = err instanceof ShopifyError && err.problem !== "rejected" && err.problem !== "graphql";
      }
      await inTransaction(this.db, async (tx) => {
        // a newer wanted state that arrived meanwhile stays pending (only the version sent is settled)
        await sql`update shopify_product_pushes set leased_until = null,
            state = case when version <> ${row.version} then 'pending'
                         when ${error === null} then 'sent' when ${retry} and attempt < 20 then 'pending' else 'failed' end,
            error = ${error}, sent_at = case when ${error === null} then now() else sent_at end,
            next_attempt_at = now() + ${`${error === null ? 0 : Math.min(600_000, (this.opts.retryBaseMs ?? 2000) * 2 ** (row.attempt - 1))} milliseconds`}::interval
          where channel_id = ${row.channel_id} and product_gid = ${row.product_gid}`.execute(tx);
        if (error === null)
          await resolveFailure(tx, { source: "shopify", operation: "export_product", subject });
        else
          await recordFailure(tx, {
            source: "shopify",
            channel: ch?.code ?? null,
            operation: "export_product",
            subject,
            error,
            detail: { product: row.product_gid, will_retry: retry },
          });
      });
    }
    return due.rows.length;
  }

  /** Returns null when Shopify took it, else why not. */
  private async send(ch: ShopifyChannel, row: Due): Promise<string | null> {
    const r = await this.pusher.client(ch).request<{
      productUpdate: { userErrors: { message: string }[] } | null;
      productVariantsBulkUpdate: { userErrors: { message: string }[] } | null;
    }>(
      UPDATE,
      {
        product: { id: row.product_gid, title: row.wanted.title, status: row.wanted.status },
        productId: row.product_gid,
        variants: row.wanted.variants,
      },
      { estimatedCost: 20 },
    );
    const errors = [
      ...(r.data.productUpdate?.userErrors ?? []),
      ...(r.data.productVariantsBulkUpdate?.userErrors ?? []),
    ];
    return errors.length ? errors.map((e) => e.message).join("; ") : null;
  }
}
