import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import type { InboxStatus } from "../../db/schema-inbound.js";
import { inTransaction, isDatabaseUnavailable, type Tx } from "../../db/tx.js";
import { DomainError } from "../../http/errors.js";
import type { Channel } from "../../orders/channels.js";
import { recordFailure, resolveFailure } from "../monitor/failures.js";
import type { FailureRow } from "../monitor/retry.js";
import { MalformedPayload } from "./inbox-json.js";
import "../../db/schema-inbound.js";

/**
 * The inbox of inbound channel webhooks. A verified delivery is stored in one
 * insert and answered at once (a slow Keel never makes the platform retry);
 * the unique indexes refuse duplicates, so a delivery sent three times at once
 * is stored once. The processor applies each stored delivery in one
 * transaction with marking it done, holding its row lock (FOR UPDATE SKIP
 * LOCKED) meanwhile: a crash rolls both back and the row is applied later,
 * never twice; several processes never apply the same row at once.
 */

export interface Delivery {
  platform: "shopify" | "woocommerce";
  topic: string;
  dedupeKey: string;
  eventKey?: string | null;
  triggeredAt?: Date | null;
  headers: Record<string, string>;
  body: string;
}

/** Stores a delivery; false when it is a duplicate (stored before, nothing changes). */
export async function receiveDelivery(db: DB, channelId: number, d: Delivery): Promise<boolean> {
  const res = await sql`
    insert into channel_inbox (channel_id, platform, topic, dedupe_key, event_key, triggered_at, headers, body)
    values (${channelId}, ${d.platform}, ${d.topic}, ${d.dedupeKey}, ${d.eventKey ?? null},
            ${d.triggeredAt ?? null}, ${JSON.stringify(d.headers)}::jsonb, ${d.body})
    on conflict do nothing`.execute(db);
  return Number(res.numAffectedRows ?? 0) > 0;
}

export interface InboxRow {
  id: number;
  channel_id: number;
  platform: "shopify" | "woocommerce";
  topic: string;
  triggered_at: Date | null;
  headers: Record<string, string>;
  body: string;
  received_at: Date;
  attempts?: number;
}

/** What applying a delivery did: `stale` and `ignored` change nothing, by design. */
export interface Applied {
  status: Extract<InboxStatus, "done" | "stale" | "ignored">;
  outcome?: Record<string, unknown>;
}

/** Applies one delivery inside the caller's transaction; throws to refuse it (nothing it wrote stays). */
export type InboxHandler = (tx: Tx, channel: Channel, row: InboxRow) => Promise<Applied>;

/** By `<platform>:<topic>` (shopify:orders/create, woocommerce:order.updated). Assembled in inbox-handlers.ts. */
export type InboxHandlers = Map<string, InboxHandler>;

/** Failures of inbound deliveries: one source for every platform (the channel tells them apart). */
export const INBOX_FAILURE_SOURCE = "channel-inbox";
const FAILURE_OPERATION = "ingest_webhook";

async function channelById(tx: Tx, id: number): Promise<Channel> {
  const r = await tx.selectFrom("channels").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  return {
    id: r.id,
    code: r.code,
    kind: r.kind,
    name: r.name,
    config: (r.config ?? {}) as Channel["config"],
    created_at: new Date(r.created_at).toISOString(),
  };
}

/** Applies a locked row and marks it; the failure for it, if one was open, resolves. */
async function applyLocked(tx: Tx, row: InboxRow, handlers: InboxHandlers): Promise<Applied> {
  const channel = await channelById(tx, row.channel_id);
  const handler = handlers.get(`${row.platform}:${row.topic}`);
  const applied: Applied = handler
    ? await handler(tx, channel, row)
    : { status: "ignored", outcome: { reason: `Keel does not use ${row.topic}` } };
  await sql`update channel_inbox set status = ${applied.status}, outcome = ${JSON.stringify(applied.outcome ?? {})}::jsonb,
              error = null, attempts = attempts + 1, processed_at = now() where id = ${row.id}`.execute(tx);
  await resolveFailure(tx, {
    source: INBOX_FAILURE_SOURCE,
    operation: FAILURE_OPERATION,
    subject: subjectOf(row),
  });
  return applied;
}

/**
 * The delivery depends on one not applied yet (a refund before its order: the
 * platform does not keep order between topics). It waits and is tried again
 * with backoff, and is failed with a recorded failure after a day.
 */
export class DeliveryNotReady extends Error {}
const WAIT_MAX_MS = 24 * 3_600_000;
const backoffSeconds = (attempts: number) => Math.min(2 ** attempts, 600);

const subjectOf = (row: Pick<InboxRow, "id">) => `inbox:${row.id}`;

/** Which deliveries a round applies: all, or one channel's (of some topics). */
export interface InboxScope {
  channelId: number;
  topics?: string[];
}

const lockNext = (scope?: InboxScope) => sql<InboxRow>`
  select id, channel_id, platform, topic, triggered_at, headers, body, received_at, attempts from channel_inbox
  where id = (select id from channel_inbox where status = 'pending' and (leased_until is null or leased_until <= now())
              ${scope ? sql`and channel_id = ${scope.channelId}` : sql``}
              ${scope?.topics ? sql`and topic = any(${scope.topics}::text[])` : sql``}
              order by id limit 1 for update skip locked)
  for update`;

/**
 * Applies pending deliveries, oldest first, until none is left or `limit` were
 * handled; returns how many. A delivery that cannot be applied (malformed, an
 * order that cannot be placed) is marked failed with an integration failure,
 * in a transaction of its own after the attempt was rolled back; a database
 * outage leaves it pending for the next round. `scope` limits the round to one
 * channel's deliveries (the Shopify pusher ingests a channel's pending orders
 * before it pushes a level that turned out stale).
 */
export async function processInbox(
  db: DB,
  handlers: InboxHandlers,
  limit = 100,
  scope?: InboxScope,
): Promise<number> {
  /** The row the attempt in flight locked. */
  let current: InboxRow | undefined;
  const applyNext = async (tx: Tx): Promise<InboxRow | undefined> => {
    const found = (await lockNext(scope).execute(tx)).rows[0];
    current = found;
    if (!found) return undefined;
    try {
      await sql`savepoint apply`.execute(tx);
      await applyLocked(tx, found, handlers);
    } catch (err) {
      if (isDatabaseUnavailable(err) || isRetryable(err)) throw err;
      await sql`rollback to savepoint apply`.execute(tx);
      const waited = Date.now() - new Date(found.received_at).getTime();
      if (err instanceof DeliveryNotReady && waited < WAIT_MAX_MS) {
        await sql`update channel_inbox set attempts = attempts + 1, error = ${err.message},
                    leased_until = now() + make_interval(secs => ${backoffSeconds(found.attempts ?? 0)})
                  where id = ${found.id}`.execute(tx);
      } else await markFailed(tx, found, err);
    }
    return found;
  };
  let handled = 0;
  while (handled < limit) {
    current = undefined;
    let row: InboxRow | undefined;
    try {
      row = await inTransaction(db, applyNext);
    } catch (err) {
      // the database is away: stop this round. A row that keeps deadlocking waits its backoff instead of blocking the rest.
      const stuck = current as InboxRow | undefined;
      if (isDatabaseUnavailable(err) || !stuck) throw err;
      await sql`update channel_inbox set attempts = attempts + 1, error = ${describe(err)},
                  leased_until = now() + make_interval(secs => ${backoffSeconds(stuck.attempts ?? 0)})
                where id = ${stuck.id} and status = 'pending'`.execute(db);
      row = stuck;
    }
    if (!row) break;
    handled++;
  }
  return handled;
}

const isRetryable = (err: unknown) => ["40001", "40P01"].includes((err as { code?: string })?.code ?? "");

async function markFailed(tx: Tx, row: InboxRow, err: unknown): Promise<void> {
  const message = describe(err);
  await sql`update channel_inbox set status = 'failed', error = ${message}, attempts = attempts + 1,
              processed_at = now() where id = ${row.id}`.execute(tx);
  const channel = await channelById(tx, row.channel_id);
  await recordFailure(tx, {
    source: INBOX_FAILURE_SOURCE,
    channel: channel.code,
    operation: FAILURE_OPERATION,
    subject: subjectOf(row),
    error: `${row.topic}: ${message}`,
    detail: {
      inbox_id: row.id,
      platform: row.platform,
      topic: row.topic,
      kind: err instanceof MalformedPayload ? "malformed" : "refused",
      received_at: new Date(row.received_at).toISOString(),
    },
  });
}

function describe(err: unknown): string {
  if (err instanceof DomainError) {
    const errors = err.extra.errors as { path: string; message: string }[] | undefined;
    return errors?.length ? errors.map((e) => `${e.path}: ${e.message}`).join("; ") : err.message;
  }
  if (err instanceof SyntaxError) return `the body is not valid JSON: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Retries a failed delivery from the monitor (POST /v1/integrations/failures/{id}/retry):
 * applied again in the retry's transaction; throwing keeps the failure open.
 */
export function inboxRetryHandler(handlers: InboxHandlers) {
  return async (failure: FailureRow, tx: Tx): Promise<void> => {
    const id = Number((failure.detail as { inbox_id?: number }).inbox_id);
    const row = (
      await sql<InboxRow & { status: InboxStatus }>`
        select id, channel_id, platform, topic, triggered_at, headers, body, received_at, status
        from channel_inbox where id = ${id} for update`.execute(tx)
    ).rows[0];
    if (!row) throw new Error(`inbox delivery ${id} is gone`);
    // applied since (by another retry): applying it again would count it twice
    if (row.status !== "failed" && row.status !== "pending") return;
    await applyLocked(tx, row, handlers);
  };
}

/** Deliveries of a channel waiting for something (a refund for its order): tried again at once. */
export async function wakeWaiting(tx: Tx, channelId: number): Promise<void> {
  await sql`update channel_inbox set leased_until = null
            where channel_id = ${channelId} and status = 'pending' and leased_until is not null`.execute(tx);
}

/**
 * Applied deliveries are kept 30 days (what was received, and what it did);
 * a duplicate arriving later still changes nothing, as applying is idempotent
 * (orders by external id, refunds by refund id). Failed ones stay until handled.
 */
export async function purgeInbox(db: DB, keepDays = 30): Promise<number> {
  const res = await sql`delete from channel_inbox where status in ('done', 'stale', 'ignored')
                        and processed_at < now() - make_interval(days => ${keepDays})`.execute(db);
  return Number(res.numAffectedRows ?? 0);
}
