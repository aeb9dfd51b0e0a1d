import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import type { Tx } from "../../db/tx.js";
import { NotFound, ValidationFailed } from "../../http/errors.js";
import { seal } from "../../secrets/box.js";
import "../../db/schema-webhooks.js";

export interface SubscriptionView {
  id: number;
  url: string;
  events: string[];
  status: "active" | "failing";
  created_at: string;
}

type Row = { id: number; url: string; events: string[]; status: "active" | "failing"; created_at: Date };
const view = (r: Row): SubscriptionView => ({
  id: r.id,
  url: r.url,
  events: r.events,
  status: r.status,
  created_at: r.created_at.toISOString(),
});
const columns = ["id", "url", "events", "status", "created_at"] as const;

/**
 * Creates a subscription; the secret (32 random bytes as hex unless given) is
 * returned here and never again; it is stored encrypted (src/secrets/box.ts). Events already in the outbox are not delivered.
 */
export async function createSubscription(
  tx: Tx,
  input: { url: string; events: string[]; secret?: string },
): Promise<SubscriptionView & { secret: string }> {
  const secret = input.secret ?? randomBytes(32).toString("hex");
  const row = await tx
    .insertInto("webhook_subscriptions")
    .values({ url: input.url, events: [...new Set(input.events)], secret: seal(secret) })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return { ...view(row), secret };
}

export async function listSubscriptions(db: DB): Promise<SubscriptionView[]> {
  const rows = await db.selectFrom("webhook_subscriptions").select(columns).orderBy("id").execute();
  return rows.map(view);
}

export async function getSubscription(db: DB, id: number): Promise<SubscriptionView> {
  const row = await db
    .selectFrom("webhook_subscriptions")
    .select(columns)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFound("webhook subscription", id);
  return view(row);
}

/** Deletes a subscription and its delivery log; nothing more is sent to it. */
export async function deleteSubscription(tx: Tx, id: number): Promise<void> {
  const res = await tx.deleteFrom("webhook_subscriptions").where("id", "=", id).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new NotFound("webhook subscription", id);
}

export interface DeliveryView {
  id: number;
  subscription_id: number;
  event_id: number;
  event_type: string;
  status: "pending" | "delivered" | "dead";
  attempt: number;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  replay_of: number | null;
  created_at: string;
}

const deliveryColumns = [
  "id",
  "subscription_id",
  "event_id",
  "event_type",
  "status",
  "attempt",
  "status_code",
  "latency_ms",
  "error",
  "next_attempt_at",
  "delivered_at",
  "replay_of",
  "created_at",
] as const;

type DeliveryRow = Omit<DeliveryView, "next_attempt_at" | "delivered_at" | "created_at"> & {
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
};
const deliveryView = (r: DeliveryRow): DeliveryView => ({
  ...r,
  next_attempt_at: r.status === "pending" ? r.next_attempt_at.toISOString() : null,
  delivered_at: r.delivered_at?.toISOString() ?? null,
  created_at: r.created_at.toISOString(),
});

/** A subscription's delivery log, newest first; `cursor` is the last id of the previous page. */
export async function listDeliveries(
  db: DB,
  subscriptionId: number,
  opts: { limit: number; cursor?: number; status?: string },
): Promise<{ data: DeliveryView[]; next_cursor: string | null }> {
  await getSubscription(db, subscriptionId);
  let q = db
    .selectFrom("webhook_deliveries")
    .select(deliveryColumns)
    .where("subscription_id", "=", subscriptionId)
    .orderBy("id", "desc")
    .limit(opts.limit + 1);
  if (opts.cursor) q = q.where("id", "<", opts.cursor);
  if (opts.status) q = q.where("status", "=", opts.status as DeliveryView["status"]);
  const rows = await q.execute();
  const page = rows.slice(0, opts.limit).map(deliveryView);
  return { data: page, next_cursor: rows.length > opts.limit ? String(page[page.length - 1].id) : null };
}

/**
 * Replays a delivery: a new pending delivery of the same event to the same
 * subscription, queued after everything already pending for it.
 */
export async function replayDelivery(tx: Tx, id: number): Promise<DeliveryView> {
  const original = await tx
    .selectFrom("webhook_deliveries")
    .select(["id", "subscription_id", "event_id", "event_type"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!original) throw new NotFound("webhook delivery", id);
  const row = await tx
    .insertInto("webhook_deliveries")
    .values({
      subscription_id: original.subscription_id,
      event_id: original.event_id,
      event_type: original.event_type,
      replay_of: original.id,
    })
    .returning(deliveryColumns)
    .executeTakeFirstOrThrow();
  return deliveryView(row);
}

/** At most this many deliveries are queued by one range replay; a longer range is split by the caller. */
export const MAX_RANGE_REPLAY = 10_000;

/**
 * Replays every original delivery of a subscription whose event was committed
 * in [from, to): new pending deliveries in event order, behind what is already
 * pending (a receiver that lost a day of data asks for that day again).
 */
export async function replayRange(
  tx: Tx,
  subscriptionId: number,
  range: { from: string; to: string },
): Promise<{ replayed: number; first_event_id: number | null; last_event_id: number | null }> {
  const from = new Date(range.from);
  const to = new Date(range.to);
  if (!(from < to)) throw new ValidationFailed([{ path: "body.to", message: "must be after from" }]);
  await tx
    .selectFrom("webhook_subscriptions")
    .select("id")
    .where("id", "=", subscriptionId)
    .forUpdate()
    .executeTakeFirst()
    .then((s) => {
      if (!s) throw new NotFound("webhook subscription", subscriptionId);
    });
  const inserted = await sql<{ event_id: number }>`
    insert into webhook_deliveries (subscription_id, event_id, event_type, replay_of)
    select ${subscriptionId}, d.event_id, d.event_type, d.id
    from webhook_deliveries d join outbox_events e on e.id = d.event_id
    where d.subscription_id = ${subscriptionId} and d.replay_of is null
      and e.created_at >= ${from} and e.created_at < ${to}
    order by d.event_id
    returning event_id`.execute(tx);
  // too many: refused whole (throwing rolls the inserts back with the transaction)
  if (inserted.rows.length > MAX_RANGE_REPLAY) {
    throw new ValidationFailed([
      {
        path: "body",
        message: `more than ${MAX_RANGE_REPLAY} deliveries in that range; replay a shorter one`,
      },
    ]);
  }
  const ids = inserted.rows.map((r) => Number(r.event_id));
  return {
    replayed: ids.length,
    first_event_id: ids.length ? Math.min(...ids) : null,
    last_event_id: ids.length ? Math.max(...ids) : null,
  };
}
