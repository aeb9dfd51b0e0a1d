import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction, type Tx } from "../../../db/tx.js";
import { Repeating } from "../../dispatch/repeating.js";
import { recordFailure, resolveFailure } from "../../monitor/failures.js";
import { processInbox } from "../inbox.js";
import { inboxHandlers } from "../inbox-handlers.js";
import { type ClientOptions, ShopifyClient, ShopifyError } from "./client.js";
import {
  idempotencyKey,
  levelKey,
  MAX_QUANTITIES,
  readAvailable,
  rowOf,
  type SetRow,
  setQuantities,
} from "./inventory-api.js";
import { enqueueTargets, type ShopifyChannel, shopifyChannels } from "./targets.js";
import "../../../db/schema-shopify.js";

/**
 * Sends dirty stock targets to Shopify. Per channel and round: lease up to
 * 250 due rows (`FOR UPDATE SKIP LOCKED`, so several Keel processes share the
 * work and never send a row twice at once), commit, then
 * - rows whose wanted value Shopify already confirmed are settled without a call;
 * - the rest go in one `inventorySetQuantities` with `changeFromQuantity` = the
 *   last confirmed value (null, no compare, for a level Keel never confirmed:
 *   Keel is the source of truth) and an `@idempotent` key derived from the rows and
 *   their confirmation version, so a retry after a dropped reply reuses the key
 *   (Shopify replays the first result) and anything else gets a new one;
 * - `CHANGE_FROM_QUANTITY_STALE` (a sale on Shopify meanwhile): that level is
 *   read again and stored as confirmed; the channel's order deliveries still
 *   waiting in the inbox are applied (the sale's orders/create is likely among
 *   them), the wanted values of the stale SKUs are computed again from Keel's
 *   stock after them, and the rows are pushed again next round. Pushing the old
 *   wanted value instead would give Shopify back the units it just sold.
 * The outcome is recorded in a second short transaction; a crash in between
 * leaves the lease to expire and the rows are sent again (with the same key).
 */

export interface PushOptions {
  intervalMs?: number;
  /** how long leased rows are left alone by other senders; above the client's retries. Default 5 min */
  leaseMs?: number;
  /** batches per channel and round before yielding; default 20 */
  batchesPerRound?: number;
  batchSize?: number;
  /** batches in flight per channel; default 3 */
  concurrency?: number;
  /** back-off while Shopify cannot be reached: base, doubling, capped. Defaults 2 s … 5 min */
  backoff?: { baseMs: number; capMs: number };
  client?: Partial<Omit<ClientOptions, "channel" | "endpoint" | "accessToken" | "db">>;
  log?: FastifyBaseLogger;
}

interface Leased {
  sku: string;
  location_code: string;
  location_gid: string;
  inventory_item_gid: string;
  wanted: number;
  confirmed: number | null;
  confirmed_version: number;
  attempt: number;
}

const SOURCE = "shopify";
/** Deliveries that change what Keel holds for a channel's orders (applied before a stale level is pushed again). */
const ORDER_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create"];
const HANDLERS = inboxHandlers();

export class ShopifyPusher {
  private readonly repeating: Repeating;
  private readonly clients = new Map<string, ShopifyClient>();

  constructor(
    private readonly db: DB,
    private readonly opts: PushOptions = {},
  ) {
    this.repeating = new Repeating(() => this.round(), {
      intervalMs: opts.intervalMs ?? 150,
      log: opts.log,
      failure: "shopify stock push failed",
    });
  }

  start() {
    this.repeating.start();
  }
  stop() {
    return this.repeating.stop();
  }

  /** One client per channel and credentials, kept so its learned budget and costs carry over. */
  client(ch: ShopifyChannel): ShopifyClient {
    const k = `${ch.code}|${ch.settings.endpoint}|${ch.settings.accessToken}`;
    let c = this.clients.get(k);
    if (!c) {
      c = new ShopifyClient({
        channel: ch.code,
        endpoint: ch.settings.endpoint,
        accessToken: ch.settings.accessToken,
        db: this.db,
        ...this.opts.client,
      });
      this.clients.set(k, c);
    }
    return c;
  }

  /** Every channel, concurrently; returns the rows settled. */
  async round(): Promise<number> {
    const channels = await shopifyChannels(this.db);
    const done = await Promise.all(channels.map((ch) => this.pushChannel(ch)));
    return done.reduce((a, b) => a + b, 0);
  }

  /** Up to `concurrency` batches in flight per channel (disjoint rows: each leases its own); the budget paces them. */
  async pushChannel(ch: ShopifyChannel): Promise<number> {
    let settled = 0;
    let batches = 0;
    const worker = async () => {
      while (batches < (this.opts.batchesPerRound ?? 20)) {
        batches++;
        const rows = await this.lease(ch);
        if (rows.length === 0) return;
        settled += await this.pushBatch(ch, rows);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency ?? 3 }, worker));
    return settled;
  }

  private async lease(ch: ShopifyChannel): Promise<Leased[]> {
    const res = await sql<Leased>`
      with due as (
        select t.channel_id, t.sku, t.location_code from shopify_stock_targets t
        where t.channel_id = ${ch.id} and t.state = 'dirty' and t.next_attempt_at <= now()
          and (t.leased_until is null or t.leased_until < now())
          and not exists (select 1 from shopify_channel_state s where s.channel_id = ${ch.id} and s.next_attempt_at > now())
        order by t.dirty_since, t.sku, t.location_code
        limit ${Math.min(this.opts.batchSize ?? MAX_QUANTITIES, MAX_QUANTITIES)}
        for update of t skip locked
      )
      update shopify_stock_targets t
        set leased_until = now() + ${`${this.opts.leaseMs ?? 300_000} milliseconds`}::interval, attempt = t.attempt + 1
      from due
      where t.channel_id = due.channel_id and t.sku = due.sku and t.location_code = due.location_code
      returning t.sku, t.location_code, t.location_gid, t.inventory_item_gid, t.wanted, t.confirmed,
                t.confirmed_version, t.attempt`.execute(this.db);
    return res.rows.sort((a, b) => cmp(a, b));
  }

  private async pushBatch(ch: ShopifyChannel, rows: Leased[]): Promise<number> {
    const client = this.client(ch);
    try {
      // Keel is the source of truth: a level whose Shopify value Keel never confirmed is set outright
      // (changeFromQuantity: null opts out of the compare, as the API allows); every later push compares.
      const same = rows.filter((r) => r.confirmed !== null && r.confirmed === r.wanted);
      const send = rows.filter((r) => r.confirmed === null || r.confirmed !== r.wanted);
      if (same.length) await inTransaction(this.db, (tx) => this.confirm(tx, ch, same, false));
      if (send.length === 0) {
        await this.channelPassed(ch);
        return same.length;
      }
      const setRows: (SetRow & { version: number })[] = send.map((r) => ({
        ...ref(r),
        quantity: r.wanted,
        changeFromQuantity: r.confirmed,
        version: r.confirmed_version,
      }));
      const key = idempotencyKey(ch.id, setRows);
      const errors = await setQuantities(client, key, setRows, `gid://keel/StockSync/${key.slice(0, 18)}`);
      if (errors.length === 0) {
        await inTransaction(this.db, (tx) => this.confirm(tx, ch, send, true));
        await this.channelPassed(ch);
        return same.length + send.length;
      }
      await this.handleUserErrors(ch, client, send, errors);
      await this.channelPassed(ch);
      return same.length;
    } catch (err) {
      await this.channelFailed(ch, rows, err);
      return 0;
    }
  }

  private async handleUserErrors(
    ch: ShopifyChannel,
    client: ShopifyClient,
    rows: Leased[],
    errors: Awaited<ReturnType<typeof setQuantities>>,
  ) {
    const stale: Leased[] = [];
    const broken = new Map<Leased, string>();
    let newKey = false;
    let wait = 0;
    for (const e of errors) {
      const i = rowOf(e);
      const row = i === null ? undefined : rows[i];
      if (e.code === "CHANGE_FROM_QUANTITY_STALE" && row) stale.push(row);
      else if (e.code === "IDEMPOTENCY_CONCURRENT_REQUEST") wait = 1000;
      else if (
        e.code === "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED" ||
        e.code === "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
      )
        newKey = true;
      else if (row) broken.set(row, `${e.code ?? "ERROR"}: ${e.message}`);
      else newKey = true; // an error about the whole call: try again with a new key, after a pause
    }
    // the level changed on Shopify (a sale there): read it, take it as confirmed, push again
    const read = stale.length ? await readAvailable(client, stale.map(ref)) : new Map<string, number>();
    // the sale's order, if its webhook is in: applied first, so the next push counts it
    if (stale.length) await this.ingestPending(ch, [...new Set(stale.map((r) => r.sku))]);
    await inTransaction(this.db, async (tx) => {
      await lockRows(tx, ch, rows);
      if (stale.length) await this.storeRead(tx, ch, stale, read, true);
      for (const [row, error] of broken) {
        await tx
          .updateTable("shopify_stock_targets")
          .set({ state: "failed", dirty_since: null, leased_until: null, error })
          .where("channel_id", "=", ch.id)
          .where("sku", "=", row.sku)
          .where("location_code", "=", row.location_code)
          .execute();
        await recordFailure(tx, {
          source: SOURCE,
          channel: ch.code,
          operation: "push_inventory",
          subject: `${ch.code}:${row.sku}@${row.location_code}`,
          error,
          detail: { sku: row.sku, location: row.location_code, inventory_item: row.inventory_item_gid },
        });
      }
      // the others were not applied (Shopify applies all or nothing): released for the next round
      const rest = rows.filter((r) => !broken.has(r) && !stale.includes(r));
      if (rest.length)
        await sql`update shopify_stock_targets set leased_until = null,
            next_attempt_at = now() + ${`${wait || (newKey ? 500 : 0)} milliseconds`}::interval,
            confirmed_version = confirmed_version + ${newKey ? 1 : 0}
          where channel_id = ${ch.id} and (sku, location_code) in
            (select * from unnest(${rest.map((r) => r.sku)}::text[], ${rest.map((r) => r.location_code)}::text[]))`.execute(
          tx,
        );
    });
  }

  /**
   * Applies the channel's order deliveries waiting in the inbox, then computes
   * the wanted values of these SKUs again (the outbox consumer would, a moment
   * later; the next push must not go out before it). A failure here only
   * delays: the inbox job applies them anyway, and the consumer follows.
   */
  private async ingestPending(ch: ShopifyChannel, skus: string[]) {
    try {
      const applied = await processInbox(this.db, HANDLERS, 500, { channelId: ch.id, topics: ORDER_TOPICS });
      if (applied > 0) await inTransaction(this.db, (tx) => enqueueTargets(tx, ch, skus.sort()));
    } catch (err) {
      this.opts.log?.warn({ err, channel: ch.code }, "ingesting pending orders before a stale push failed");
    }
  }

  /** Stores values read from Shopify as confirmed; a row Shopify does not stock fails with a clear reason. */
  private async storeRead(
    tx: Tx,
    ch: ShopifyChannel,
    rows: Leased[],
    read: Map<string, number>,
    release: boolean,
  ) {
    await lockRows(tx, ch, rows);
    const found = rows.filter((r) => read.has(levelKey(ref(r))));
    const missing = rows.filter((r) => !read.has(levelKey(ref(r))));
    if (found.length)
      await sql`update shopify_stock_targets t set confirmed = x.v, confirmed_version = t.confirmed_version + 1,
            leased_until = case when ${release} then null else t.leased_until end, next_attempt_at = now(), updated_at = now()
          from unnest(${found.map((r) => r.sku)}::text[], ${found.map((r) => r.location_code)}::text[],
                      ${found.map((r) => read.get(levelKey(ref(r)))!)}::int[]) as x(sku, loc, v)
          where t.channel_id = ${ch.id} and t.sku = x.sku and t.location_code = x.loc`.execute(tx);
    for (const r of missing) {
      const error = `inventory item ${r.inventory_item_gid} (${r.sku}) is not stocked at ${r.location_gid} (${r.location_code}) on Shopify`;
      await tx
        .updateTable("shopify_stock_targets")
        .set({ state: "failed", dirty_since: null, leased_until: null, error })
        .where("channel_id", "=", ch.id)
        .where("sku", "=", r.sku)
        .where("location_code", "=", r.location_code)
        .execute();
      await recordFailure(tx, {
        source: SOURCE,
        channel: ch.code,
        operation: "push_inventory",
        subject: `${ch.code}:${r.sku}@${r.location_code}`,
        error,
        detail: { sku: r.sku, location: r.location_code, inventory_item: r.inventory_item_gid },
      });
    }
  }

  /**
   * Shopify has `wanted` as it was leased (pushed, or read to be so already):
   * confirmed; clean unless a newer wanted value arrived meanwhile.
   */
  private async confirm(tx: Tx, ch: ShopifyChannel, rows: Leased[], pushed: boolean) {
    await lockRows(tx, ch, rows);
    await sql`update shopify_stock_targets t set confirmed = x.v, confirmed_version = t.confirmed_version + 1,
          state = case when t.wanted = x.v then 'clean' else 'dirty' end,
          dirty_since = case when t.wanted = x.v then null else t.dirty_since end,
          leased_until = null, attempt = 0, next_attempt_at = now(), error = null,
          pushed_at = case when ${pushed} then now() else t.pushed_at end, updated_at = now()
        from unnest(${rows.map((r) => r.sku)}::text[], ${rows.map((r) => r.location_code)}::text[],
                    ${rows.map((r) => r.wanted)}::int[]) as x(sku, loc, v)
        where t.channel_id = ${ch.id} and t.sku = x.sku and t.location_code = x.loc`.execute(tx);
    const subjects = rows.map((r) => `${ch.code}:${r.sku}@${r.location_code}`);
    // a row that failed before and went through now: its failure is over
    await sql`update integration_failures set status = 'resolved', resolved_at = now(), resolution = 'succeeded'
      where source = ${SOURCE} and operation = 'push_inventory' and status = 'open'
        and subject = any(${subjects}::text[])`.execute(tx);
  }

  private async channelPassed(ch: ShopifyChannel) {
    await inTransaction(this.db, async (tx) => {
      const prev = await sql<{ consecutive_failures: number }>`
        insert into shopify_channel_state as s (channel_id, last_success_at, consecutive_failures, next_attempt_at)
        values (${ch.id}, now(), 0, now())
        on conflict (channel_id) do update set last_success_at = now(), consecutive_failures = 0, next_attempt_at = now()
        returning (select consecutive_failures from shopify_channel_state where channel_id = ${ch.id}) as consecutive_failures`.execute(
        tx,
      );
      if ((prev.rows[0]?.consecutive_failures ?? 0) > 0)
        await resolveFailure(tx, { source: SOURCE, operation: "push_inventory", subject: ch.code });
    });
  }

  /** Shopify could not be reached (the client's own retries ran out): rows back to the queue, the channel backs off. */
  private async channelFailed(ch: ShopifyChannel, rows: Leased[], err: unknown) {
    const message = err instanceof ShopifyError ? `${err.problem}: ${err.message}` : (err as Error).message;
    if (!(err instanceof ShopifyError))
      this.opts.log?.error({ err, channel: ch.code }, "shopify push failed");
    const b = this.opts.backoff ?? { baseMs: 2000, capMs: 300_000 };
    await inTransaction(this.db, async (tx) => {
      const st = await sql<{ consecutive_failures: number }>`
        insert into shopify_channel_state as s (channel_id, consecutive_failures) values (${ch.id}, 1)
        on conflict (channel_id) do update set consecutive_failures = s.consecutive_failures + 1
        returning consecutive_failures`.execute(tx);
      const n = st.rows[0].consecutive_failures;
      const delay = Math.round(Math.min(b.capMs, b.baseMs * 2 ** (n - 1)) * (0.8 + 0.4 * Math.random()));
      await sql`update shopify_channel_state set next_attempt_at = now() + ${`${delay} milliseconds`}::interval
        where channel_id = ${ch.id}`.execute(tx);
      await lockRows(tx, ch, rows);
      await sql`update shopify_stock_targets set leased_until = null, error = ${message.slice(0, 500)}
        where channel_id = ${ch.id} and (sku, location_code) in
          (select * from unnest(${rows.map((r) => r.sku)}::text[], ${rows.map((r) => r.location_code)}::text[]))`.execute(
        tx,
      );
      await recordFailure(tx, {
        source: SOURCE,
        channel: ch.code,
        operation: "push_inventory",
        subject: ch.code,
        error: `stock push to Shopify failed (${n} in a row, next try in ${Math.round(delay / 1000)} s): ${message}`,
        detail: { pending_in_batch: rows.length },
      });
    });
  }
}

/** Row locks in key order, the order the outbox consumer writes in, so the two never deadlock. */
async function lockRows(tx: Tx, ch: ShopifyChannel, rows: Leased[]) {
  if (rows.length === 0) return;
  await sql`select 1 from shopify_stock_targets
    where channel_id = ${ch.id} and (sku, location_code) in
      (select * from unnest(${rows.map((r) => r.sku)}::text[], ${rows.map((r) => r.location_code)}::text[]))
    order by sku, location_code for update`.execute(tx);
}

function ref(r: Leased) {
  return { inventoryItemId: r.inventory_item_gid, locationId: r.location_gid };
}

function cmp(a: Leased, b: Leased) {
  return a.sku < b.sku
    ? -1
    : a.sku > b.sku
      ? 1
      : a.location_code < b.location_code
        ? -1
        : a.location_code > b.location_code
          ? 1
          : 0;
}
