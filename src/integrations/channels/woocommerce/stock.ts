import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction } from "../../../db/tx.js";
import { findChannel } from "../../../orders/channels.js";
import type { OutboxConsumer } from "../../dispatch/consumer.js";
import { recordFailure, resolveFailure } from "../../monitor/failures.js";
import { offeredQuantities } from "../../stock-policy/policy.js";
import { openConfig, WooCommerceConfig } from "../config.js";
import { BATCH_LIMIT, WooClient, type WooClientOptions } from "./client.js";
import "../../../db/schema-inbound.js";

/**
 * Stock out to WooCommerce. WooCommerce has no compare-and-set, so Keel sends
 * absolute `stock_quantity` and `stock_status`, computed from the channel's
 * stock policy at send time, and sends again whatever differs from what
 * WooCommerce last accepted (a later round, or the reconcile, corrects any
 * race with a sale on the shop). Updates go through `products/batch` and
 * `products/{id}/variations/batch` in chunks of at most 100. One push per
 * channel at a time across processes (a session advisory lock).
 */

export interface WooPushResult {
  /** Objects WooCommerce accepted. */
  pushed: number;
  /** Already at the value Keel would send. */
  unchanged: number;
  /** SKUs WooCommerce does not have. */
  unknown: string[];
  /** Objects refused or not delivered (failures recorded). */
  failed: number;
  /** SKUs WooCommerce now has at Keel's value (sent and accepted, or unchanged). */
  done: string[];
  /** Batch requests sent. */
  requests: number;
  /** False when another process was pushing this channel. */
  ran: boolean;
  /** With `verify`: SKUs whose stock on WooCommerce differed from what Keel last sent (a sale there, an edit). */
  drifted: { sku: string; woocommerce: number | null; sent: number | null }[];
}

const SOURCE = "woocommerce";
const OPERATION = "push_inventory";

export function wooClientFor(
  config: Record<string, unknown>,
  extra: Partial<WooClientOptions> = {},
): WooClient {
  const c = WooCommerceConfig.parse(openConfig(config)); // as stored, its secrets are encrypted
  if (!c.base_url || !c.consumer_key || !c.consumer_secret) {
    throw new Error("the channel needs base_url, consumer_key and consumer_secret");
  }
  return new WooClient({
    baseUrl: c.base_url,
    consumerKey: c.consumer_key,
    consumerSecret: c.consumer_secret,
    ...extra,
  });
}

const chunks = <T>(xs: T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * Pushes the channel's stock for `skus` (every SKU Keel sells when left out).
 * `full` sends every value even when WooCommerce already has it. `verify`
 * first reads what WooCommerce has now (100 SKUs per request) and takes that
 * as the last known value, so whatever drifted there (a sale racing Keel's
 * absolute set, an edit in wp-admin) is sent again; the reconcile uses it.
 */
export async function pushWooStock(
  db: DB,
  channelCode: string,
  opts: { skus?: string[]; full?: boolean; verify?: boolean; client?: WooClient } = {},
): Promise<WooPushResult> {
  const channel = await findChannel(db, channelCode);
  if (channel?.kind !== "woocommerce") throw new Error(`${channelCode} is not a WooCommerce channel`);
  const client = opts.client ?? wooClientFor(channel.config);
  const result: WooPushResult = {
    pushed: 0,
    unchanged: 0,
    unknown: [],
    failed: 0,
    done: [],
    requests: 0,
    ran: true,
    drifted: [],
  };
  return db.connection().execute(async (conn) => {
    const lock = await sql<{
      ok: boolean;
    }>`select pg_try_advisory_lock(hashtext('woo-stock'), ${channel.id}::int) as ok`.execute(conn);
    if (!lock.rows[0]?.ok) return { ...result, ran: false };
    try {
      const skus =
        opts.skus ??
        (
          await conn
            .selectFrom("variants")
            .innerJoin("products", "products.id", "variants.product_id")
            .select("variants.sku")
            .where("products.status", "=", "active")
            .where("variants.kind", "!=", "digital")
            .execute()
        ).map((r) => r.sku);
      await mapSkus(db, channel.id, channel.code, client, skus, result);
      if (opts.verify) await readRemote(db, channel.id, client, skus, result);
      // values computed now, at send time
      const offers = await offeredQuantities(conn, channel.code, skus);
      const items = await conn
        .selectFrom("channel_woo_items")
        .selectAll()
        .where("channel_id", "=", channel.id)
        .where("sku", "in", skus.length ? skus : [""])
        .execute();
      const policies = new Map(
        (
          await conn
            .selectFrom("variants")
            .select(["sku", "inventory_policy"])
            .where("sku", "in", skus.length ? skus : [""])
            .execute()
        ).map((r) => [r.sku, r.inventory_policy]),
      );
      const groups = new Map<string, { sku: string; id: string; quantity: number; status: string }[]>();
      for (const item of items) {
        const offer = offers.get(item.sku);
        if (!offer || offer.offered === null) continue;
        const quantity = offer.offered;
        const status =
          quantity > 0 ? "instock" : policies.get(item.sku) === "deny" ? "outofstock" : "onbackorder";
        if (!opts.full && item.last_quantity === quantity && item.last_status === status) {
          result.unchanged++;
          result.done.push(item.sku);
          continue;
        }
        const parent = item.variation_id === null ? "" : item.product_id;
        const list = groups.get(parent) ?? [];
        list.push({ sku: item.sku, id: item.variation_id ?? item.product_id, quantity, status });
        groups.set(parent, list);
      }
      for (const [parent, list] of groups) {
        for (const chunk of chunks(list, BATCH_LIMIT)) {
          await sendChunk(db, channel, client, parent === "" ? null : parent, chunk, result);
        }
      }
      return result;
    } finally {
      await sql`select pg_advisory_unlock(hashtext('woo-stock'), ${channel.id}::int)`.execute(conn);
    }
  });
}

/** What WooCommerce has now for mapped SKUs, kept as the last known value; differences counted as drift. */
async function readRemote(
  db: DB,
  channelId: number,
  client: WooClient,
  skus: string[],
  result: WooPushResult,
) {
  const mapped = await db
    .selectFrom("channel_woo_items")
    .select(["sku", "last_quantity", "last_status"])
    .where("channel_id", "=", channelId)
    .where("sku", "in", skus.length ? skus : [""])
    .orderBy("sku")
    .execute();
  for (const chunk of chunks(mapped, BATCH_LIMIT)) {
    result.requests++;
    const found = new Map((await client.productsBySku(chunk.map((c) => c.sku))).map((p) => [p.sku, p]));
    const now = chunk.flatMap((c) => {
      const p = found.get(c.sku);
      if (!p) return [];
      if (p.stock_quantity !== c.last_quantity || p.stock_status !== c.last_status)
        result.drifted.push({ sku: c.sku, woocommerce: p.stock_quantity, sent: c.last_quantity });
      return [{ sku: c.sku, quantity: p.stock_quantity, status: p.stock_status }];
    });
    if (now.length)
      await sql`update channel_woo_items w set last_quantity = u.quantity, last_status = u.status
        from unnest(${now.map((n) => n.sku)}::text[], ${now.map((n) => n.quantity)}::int[],
                    ${now.map((n) => n.status)}::text[]) as u(sku, quantity, status)
        where w.channel_id = ${channelId} and w.sku = u.sku`.execute(db);
  }
}

/** Finds WooCommerce's product (or variation) for SKUs not mapped yet, 100 per lookup. */
async function mapSkus(
  db: DB,
  channelId: number,
  channelCode: string,
  client: WooClient,
  skus: string[],
  result: WooPushResult,
): Promise<void> {
  const mapped = new Set(
    (
      await db
        .selectFrom("channel_woo_items")
        .select("sku")
        .where("channel_id", "=", channelId)
        .where("sku", "in", skus.length ? skus : [""])
        .execute()
    ).map((r) => r.sku),
  );
  const missing = skus.filter((s) => !mapped.has(s));
  for (const chunk of chunks(missing, BATCH_LIMIT)) {
    result.requests++;
    const found = await client.productsBySku(chunk);
    const bySku = new Map(found.filter((p) => chunk.includes(p.sku)).map((p) => [p.sku, p]));
    const rows = [...bySku.values()].map((p) => ({
      channel_id: channelId,
      sku: p.sku,
      product_id: p.parent_id !== "0" ? p.parent_id : p.id,
      variation_id: p.parent_id !== "0" ? p.id : null,
    }));
    if (rows.length) {
      await db
        .insertInto("channel_woo_items")
        .values(rows)
        .onConflict((oc) => oc.columns(["channel_id", "sku"]).doNothing())
        .execute();
    }
    for (const sku of chunk) if (!bySku.has(sku)) result.unknown.push(sku);
  }
  if (result.unknown.length) {
    await inTransaction(db, (tx) =>
      recordFailure(tx, {
        source: SOURCE,
        channel: channelCode,
        operation: "map_sku",
        subject: "",
        error: `${result.unknown.length} SKUs are not in the WooCommerce shop: ${result.unknown.slice(0, 20).join(", ")}`,
        detail: { skus: result.unknown.slice(0, 1000) },
      }),
    );
  }
}

async function sendChunk(
  db: DB,
  channel: { id: number; code: string },
  client: WooClient,
  parent: string | null,
  chunk: { sku: string; id: string; quantity: number; status: string }[],
  result: WooPushResult,
): Promise<void> {
  const subject = parent === null ? "products/batch" : `products/${parent}/variations/batch`;
  result.requests++;
  let answers: Awaited<ReturnType<WooClient["batchUpdate"]>>;
  try {
    answers = await client.batchUpdate(
      parent,
      chunk.map((c) => ({
        id: Number(c.id),
        manage_stock: true,
        stock_quantity: c.quantity,
        stock_status: c.status,
      })),
    );
  } catch (err) {
    result.failed += chunk.length;
    await inTransaction(db, (tx) =>
      recordFailure(tx, {
        source: SOURCE,
        channel: channel.code,
        operation: OPERATION,
        subject,
        error: (err as Error).message,
        detail: { skus: chunk.map((c) => c.sku) },
      }),
    );
    return;
  }
  const refused = new Map(answers.filter((a) => a.error).map((a) => [a.id, a.error!]));
  const accepted = chunk.filter((c) => !refused.has(String(Number(c.id))));
  await inTransaction(db, async (tx) => {
    if (accepted.length) {
      await sql`
        update channel_woo_items w set last_quantity = u.quantity, last_status = u.status, pushed_at = now()
        from unnest(${accepted.map((c) => c.sku)}::text[], ${accepted.map((c) => c.quantity)}::int[],
                    ${accepted.map((c) => c.status)}::text[]) as u(sku, quantity, status)
        where w.channel_id = ${channel.id} and w.sku = u.sku`.execute(tx);
    }
    if (refused.size) {
      await recordFailure(tx, {
        source: SOURCE,
        channel: channel.code,
        operation: OPERATION,
        subject,
        error: `WooCommerce refused ${refused.size} of ${chunk.length}: ${[...refused.values()][0].message}`,
        detail: { refused: Object.fromEntries(refused) },
      });
    } else await resolveFailure(tx, { source: SOURCE, operation: OPERATION, subject });
  });
  result.pushed += accepted.length;
  for (const c of accepted) result.done.push(c.sku);
  result.failed += refused.size;
}

/**
 * Marks the SKUs of committed stock changes dirty for every WooCommerce
 * channel (an outbox consumer: it commits with the dispatcher's cursor).
 */
export const wooStockConsumer: OutboxConsumer = {
  name: "woocommerce-stock",
  types: ["inventory.level_changed"],
  async handle(tx, events) {
    const skus = [
      ...new Set(
        events.flatMap((e) => {
          const sku = (e.payload as { sku?: unknown } | null)?.sku;
          return typeof sku === "string" ? [sku] : [];
        }),
      ),
    ];
    if (skus.length === 0) return;
    await sql`update channel_woo_items set dirty_at = clock_timestamp() where sku = any(${skus}::text[])`.execute(
      tx,
    );
  },
};

const connected = (config: Record<string, unknown>) =>
  Boolean(config.base_url && config.consumer_key && config.consumer_secret);

/**
 * Channels whose last round delivered nothing (the shop down): this process
 * leaves them alone for a while, doubling up to 5 minutes, so a shop that is
 * down is not sent every SKU every 2 seconds. The failure stays visible.
 */
const paused = new Map<number, { until: number; streak: number }>();

/** One round of the background push: each connected WooCommerce channel's dirty SKUs, oldest first. */
export async function pushDirtyWooStock(db: DB, limit = 5000): Promise<number> {
  const channels = await db
    .selectFrom("channels")
    .select(["id", "code", "config"])
    .where("kind", "=", "woocommerce")
    .execute();
  let pushed = 0;
  for (const c of channels) {
    if (!connected(c.config as Record<string, unknown>)) continue;
    const pause = paused.get(c.id);
    if (pause && Date.now() < pause.until) continue;
    const claimedAt = (await sql<{ now: Date }>`select clock_timestamp() as now`.execute(db)).rows[0].now;
    const dirty = await db
      .selectFrom("channel_woo_items")
      .select("sku")
      .where("channel_id", "=", c.id)
      .where("dirty_at", "is not", null)
      .orderBy("dirty_at")
      .limit(limit)
      .execute();
    if (dirty.length === 0) continue;
    const res = await pushWooStock(db, c.code, { skus: dirty.map((d) => d.sku) });
    if (!res.ran) continue;
    if (res.failed > 0 && res.pushed === 0) {
      const streak = (pause?.streak ?? 0) + 1;
      paused.set(c.id, { streak, until: Date.now() + Math.min(2 ** streak * 1000, 300_000) });
    } else paused.delete(c.id);
    pushed += res.pushed;
    // a change committed after the claim keeps its SKU dirty for the next round
    await sql`update channel_woo_items set dirty_at = null
              where channel_id = ${c.id} and sku = any(${res.done}::text[]) and dirty_at <= ${claimedAt}`.execute(
      db,
    );
  }
  return pushed;
}

/** Every connected WooCommerce channel, all SKUs: maps new ones and sends what differs (the periodic catch-up). */
export async function reconcileWooStock(db: DB): Promise<number> {
  const channels = await db
    .selectFrom("channels")
    .select(["code", "config"])
    .where("kind", "=", "woocommerce")
    .execute();
  let pushed = 0;
  for (const c of channels) {
    if (!connected(c.config as Record<string, unknown>)) continue;
    pushed += (await pushWooStock(db, c.code)).pushed;
  }
  return pushed;
}
