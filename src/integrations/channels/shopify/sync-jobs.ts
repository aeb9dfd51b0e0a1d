import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import type { SyncWhat } from "../../../db/schema-shopify.js";
import { inTransaction, type Tx } from "../../../db/tx.js";
import { ValidationFailed } from "../../../http/errors.js";
import { Repeating } from "../../dispatch/repeating.js";
import type { RetryHandler } from "../../monitor/retry.js";
import { importWooProducts } from "../woocommerce/products.js";
import { reconcileWoo } from "../woocommerce/reconcile.js";
import { pushWooStock } from "../woocommerce/stock.js";
import { importProducts } from "./product-import.js";
import type { ShopifyPusher } from "./push.js";
import { reconcileLevels, reconcileOrders } from "./reconcile.js";
import { enqueueTargets, shopifyChannels } from "./targets.js";

/**
 * `POST /v1/channels/{code}/sync`: a job row, run by whichever Keel process
 * leases it first (`FOR UPDATE SKIP LOCKED`; a lease that runs out, because
 * its process died, is taken over and the job runs again: both kinds are
 * safe to repeat).
 * - products: page the shop's variants and map SKU → inventory item;
 * - inventory: recompute every mapped SKU × location (a changed stock policy
 *   lands this way); `full` first ingests the orders of the last 25 hours a
 *   lost webhook missed, then forgets what Shopify confirmed, so every level
 *   is set again outright (whatever drifted on Shopify is repaired);
 * - orders: the orders Shopify changed in the last 25 hours (`full`: 30 days)
 *   that Keel missed or has in an older state, ingested (reconcile.ts);
 * - reconcile (daily, scheduled by `scheduleReconciles`): those orders, then
 *   every level read and compared with what Keel offers, drift fixed.
 * Each reports what it found and changed in `progress`.
 */

const HOUR = 3_600_000;
const since = (full: boolean) => new Date(Date.now() - (full ? 30 * 24 : 25) * HOUR);

export interface SyncJob {
  id: number;
  channel: string;
  what: SyncWhat;
  full: boolean;
  status: "queued" | "running" | "done" | "failed";
  progress: Record<string, unknown>;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

export async function requestSync(tx: Tx, code: string, what: SyncWhat, full: boolean): Promise<SyncJob> {
  const [ch] = (await shopifyChannels(tx, code)) as { id: number }[];
  const woo = ch
    ? undefined
    : await tx
        .selectFrom("channels")
        .select(["id", "config"])
        .where("code", "=", code)
        .where("kind", "=", "woocommerce")
        .executeTakeFirst();
  const c = woo?.config as Record<string, unknown> | undefined;
  if (woo && !(c?.base_url && c.consumer_key && c.consumer_secret))
    throw new ValidationFailed([
      { path: "params.code", message: `channel ${code} needs base_url, consumer_key and consumer_secret` },
    ]);
  const target = ch ?? woo;
  if (!target)
    throw new ValidationFailed([
      {
        path: "params.code",
        message: `channel ${code} is not a Shopify channel with shop_domain, api_version, access_token and locations, nor a WooCommerce one`,
      },
    ]);
  const row = await tx
    .insertInto("shopify_sync_jobs")
    .values({ channel_id: target.id, what, full })
    .returning("id")
    .executeTakeFirstOrThrow();
  return (await getSyncJob(tx, code, row.id))!;
}

export async function getSyncJob(db: DB | Tx, code: string, id: number): Promise<SyncJob | undefined> {
  const r = await db
    .selectFrom("shopify_sync_jobs as j")
    .innerJoin("channels as c", "c.id", "j.channel_id")
    .select([
      "j.id",
      "c.code",
      "j.what",
      "j.full",
      "j.status",
      "j.progress",
      "j.error",
      "j.created_at",
      "j.finished_at",
    ])
    .where("j.id", "=", id)
    .where("c.code", "=", code)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    id: Number(r.id),
    channel: r.code,
    what: r.what,
    full: r.full,
    status: r.status,
    progress: r.progress,
    error: r.error,
    created_at: new Date(r.created_at).toISOString(),
    finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

export class SyncRunner {
  private readonly repeating: Repeating;
  constructor(
    private readonly db: DB,
    private readonly pusher: ShopifyPusher,
    private readonly opts: { intervalMs?: number; leaseMs?: number; log?: FastifyBaseLogger } = {},
  ) {
    this.repeating = new Repeating(() => this.runNext(), {
      intervalMs: opts.intervalMs ?? 500,
      log: opts.log,
      failure: "shopify sync job failed",
    });
  }
  start() {
    this.repeating.start();
  }
  stop() {
    return this.repeating.stop();
  }

  /** Leases and runs one job (that one, when `only` names it); returns whether there was one. */
  async runNext(only?: number): Promise<boolean> {
    const lease = `${this.opts.leaseMs ?? 120_000} milliseconds`;
    const got = await sql<{ id: number; channel_id: number; what: SyncWhat; full: boolean }>`
      with next as (
        select id from shopify_sync_jobs
        where (status = 'queued' or (status = 'running' and leased_until < now()))
          ${only === undefined ? sql`` : sql`and id = ${only}`}
        order by id limit 1 for update skip locked
      )
      update shopify_sync_jobs j set status = 'running', started_at = coalesce(j.started_at, now()),
        leased_until = now() + ${lease}::interval
      from next where j.id = next.id
      returning j.id, j.channel_id, j.what, j.full`.execute(this.db);
    const job = got.rows[0];
    if (!job) return false;
    const code = await this.db
      .selectFrom("channels")
      .select(["code", "kind"])
      .where("id", "=", job.channel_id)
      .executeTakeFirst();
    const finish = (status: "done" | "failed", progress: unknown, error: string | null) =>
      sql`update shopify_sync_jobs set status = ${status}, progress = ${JSON.stringify(progress)}::jsonb,
          error = ${error}, finished_at = now(), leased_until = null where id = ${job.id}`.execute(this.db);
    if (code?.kind === "woocommerce") {
      try {
        await finish("done", await runWooJob(this.db, code.code, job), null);
      } catch (err) {
        await finish("failed", {}, (err as Error).message.slice(0, 1000));
      }
      return true;
    }
    const [ch] = code ? await shopifyChannels(this.db, code.code) : [];
    if (!ch) {
      await finish("failed", {}, "the channel is gone or no longer configured for Shopify");
      return true;
    }
    try {
      if (job.what === "products") {
        const p = await importProducts(this.db, this.pusher.client(ch), ch, async (progress) => {
          await sql`update shopify_sync_jobs set progress = ${JSON.stringify(progress)}::jsonb,
              leased_until = now() + ${lease}::interval where id = ${job.id}`.execute(this.db);
        });
        await finish("done", p, null);
      } else if (job.what === "orders") {
        await finish(
          "done",
          await reconcileOrders(this.db, this.pusher.client(ch), ch, since(job.full)),
          null,
        );
      } else if (job.what === "reconcile") {
        const orders = await reconcileOrders(this.db, this.pusher.client(ch), ch, since(job.full));
        await sql`update shopify_sync_jobs set progress = ${JSON.stringify(orders)}::jsonb,
            leased_until = now() + ${lease}::interval where id = ${job.id}`.execute(this.db);
        const levels = await reconcileLevels(this.db, this.pusher.client(ch), ch);
        await finish("done", { ...orders, ...levels }, null);
      } else {
        // a full push counts the orders a lost webhook missed first: their units are not Shopify's to sell
        const orders = job.full
          ? await reconcileOrders(this.db, this.pusher.client(ch), ch, since(false))
          : {};
        const targets = await inTransaction(this.db, (tx) =>
          enqueueTargets(tx, ch, "all", { force: job.full }),
        );
        await finish("done", { targets, ...orders }, null);
      }
    } catch (err) {
      await finish("failed", {}, (err as Error).message.slice(0, 1000));
    }
    return true;
  }
}

/** A WooCommerce channel's sync job: products in by SKU, stock (verified against the shop when full), or the reconcile. */
async function runWooJob(db: DB, code: string, job: { what: SyncWhat; full: boolean }) {
  if (job.what === "products") return { ...(await importWooProducts(db, code)) };
  if (job.what === "inventory") {
    const r = await pushWooStock(db, code, { full: job.full, verify: job.full });
    return {
      pushed: r.pushed,
      unchanged: r.unchanged,
      failed: r.failed,
      unknown: r.unknown.length,
      drifted: r.drifted.length,
      requests: r.requests,
    };
  }
  return { ...(await reconcileWoo(db, code, { since: since(job.full) })) };
}

/**
 * The daily reconcile: a job for every configured Shopify (and connected
 * WooCommerce) channel whose last
 * one was asked for more than `everyMs` ago (the unique index on open
 * reconcile jobs keeps several processes from queueing two).
 */
export async function scheduleReconciles(db: DB, everyMs = 24 * HOUR): Promise<number> {
  let queued = 0;
  const woo = await db
    .selectFrom("channels")
    .select(["id", "config"])
    .where("kind", "=", "woocommerce")
    .execute();
  const connected = woo.filter((w) => {
    const c = w.config as Record<string, unknown>;
    return Boolean(c.base_url && c.consumer_key && c.consumer_secret);
  });
  for (const ch of [...(await shopifyChannels(db)), ...connected]) {
    const res = await sql`
      insert into shopify_sync_jobs (channel_id, what)
      select ${ch.id}, 'reconcile'
      where not exists (select 1 from shopify_sync_jobs where channel_id = ${ch.id} and what = 'reconcile'
                        and created_at > now() - ${`${everyMs} milliseconds`}::interval)
      on conflict do nothing`.execute(db);
    queued += Number(res.numAffectedRows ?? 0);
  }
  return queued;
}

/**
 * Retrying a Shopify failure: a level that failed is queued again and set
 * outright; a channel that could not be reached is
 * tried at once. API problems resolve themselves with the next call that works.
 */
export const retryShopifyFailure: RetryHandler = async (failure, tx) => {
  const d = failure.detail as { sku?: unknown; location?: unknown };
  const ch = failure.channel_code
    ? await tx.selectFrom("channels").select("id").where("code", "=", failure.channel_code).executeTakeFirst()
    : undefined;
  if (!ch) throw new Error("the failure does not name a channel");
  if (failure.operation === "push_inventory" && typeof d.sku === "string" && typeof d.location === "string") {
    const r = await tx
      .updateTable("shopify_stock_targets")
      .set({
        state: "dirty",
        confirmed: null,
        dirty_since: new Date(),
        next_attempt_at: new Date(),
        error: null,
      })
      .where("channel_id", "=", ch.id)
      .where("sku", "=", d.sku)
      .where("location_code", "=", d.location)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new Error("that level is no longer synced");
    return;
  }
  if (failure.operation === "push_inventory") {
    await tx
      .updateTable("shopify_channel_state")
      .set({ next_attempt_at: new Date() })
      .where("channel_id", "=", ch.id)
      .execute();
    return;
  }
  if (failure.operation === "confirm_shipment") {
    // sent again; the sender reads the fulfillment orders first, so what went through is not sent twice
    const id = Number((failure.detail as { fulfilment_id?: unknown }).fulfilment_id);
    const r = await tx
      .updateTable("shopify_shipments")
      .set({ state: "pending", attempt: 0, next_attempt_at: new Date(), leased_until: null })
      .where("fulfilment_id", "=", id)
      .where("state", "!=", "sent")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new Error("that shipment is no longer waiting to be sent");
    return;
  }
  throw new Error("resolves itself when the next call to Shopify goes through");
};
