import { sql } from "kysely";
import type { Tx } from "../../db/tx.js";
import type { OutboxEvent } from "../../events/outbox.js";
import { matchesType, type OutboxConsumer } from "../dispatch/consumer.js";
import "../../db/schema-webhooks.js";

/**
 * The "webhooks" outbox consumer: one pending delivery per matching
 * subscription × event, written in the dispatcher's transaction (so exactly
 * once per event). Payloads are not read here: the sender joins them in.
 * Delivery ids grow in the events' commit-safe order, which is the send order.
 */
export const webhookConsumer: OutboxConsumer = {
  name: "webhooks",
  payloads: false,
  batchSize: 1000,
  async handle(tx: Tx, events: OutboxEvent[]) {
    const subs = await tx
      .selectFrom("webhook_subscriptions")
      .select(["id", "events"])
      .orderBy("id")
      .execute();
    if (subs.length === 0) return;
    const subIds: number[] = [];
    const eventIds: number[] = [];
    const types: string[] = [];
    for (const e of events)
      for (const s of subs)
        if (matchesType(e.type, s.events)) {
          subIds.push(s.id);
          eventIds.push(e.id);
          types.push(e.type);
        }
    if (subIds.length === 0) return;
    await sql`insert into webhook_deliveries (subscription_id, event_id, event_type)
      select s, e, t from unnest(${subIds}::bigint[], ${eventIds}::bigint[], ${types}::text[])
        with ordinality as x(s, e, t, n) order by n`.execute(tx);
  },
};
