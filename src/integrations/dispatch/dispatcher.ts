import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import { listEvents } from "../../events/outbox.js";
import { matchesType as matches, type OutboxConsumer } from "./consumer.js";
import { Repeating } from "./repeating.js";
import "../../db/schema-webhooks.js";

/**
 * Runs outbox consumers in this process (see consumer.ts for the contract).
 * Each tick, per consumer, one transaction: lease the cursor row with
 * `FOR UPDATE SKIP LOCKED` (another process holding it means this one skips
 * the consumer this tick), read the events after it in commit-safe order,
 * `handle` them and advance the cursor. A Kysely transaction is a Kysely
 * instance, so `listEvents` reads inside it.
 */
export class Dispatcher {
  private readonly repeating: Repeating;
  private readonly created = new Set<string>();

  constructor(
    private readonly db: DB,
    private readonly consumers: OutboxConsumer[],
    private readonly opts: { intervalMs?: number; log?: FastifyBaseLogger } = {},
  ) {
    const names = new Set(consumers.map((c) => c.name));
    if (names.size !== consumers.length) throw new Error("outbox consumer names must be unique");
    this.repeating = new Repeating(() => this.tick(), {
      intervalMs: opts.intervalMs ?? 150,
      log: opts.log,
      failure: "outbox dispatch failed",
    });
  }

  start(): void {
    this.repeating.start();
  }

  stop(): Promise<void> {
    return this.repeating.stop();
  }

  /** One pass over every consumer; returns how many events were handled. Consumers fail independently. */
  async tick(): Promise<number> {
    let handled = 0;
    for (const consumer of this.consumers) {
      try {
        handled += await this.runConsumer(consumer);
      } catch (err) {
        this.opts.log?.error(
          { err, consumer: consumer.name },
          "outbox consumer failed; its batch will be redelivered",
        );
      }
    }
    return handled;
  }

  /** Creates the consumer's cursor if missing: `now` starts after the newest committed event. */
  private async ensureCursor(c: OutboxConsumer): Promise<void> {
    if (this.created.has(c.name)) return;
    const start =
      c.startAt === "beginning"
        ? sql<number>`0`
        : sql<number>`coalesce((select e.id from outbox_events e
            where e.txid < pg_snapshot_xmin(pg_current_snapshot())
            order by e.txid desc, e.id desc limit 1), 0)`;
    await sql`insert into outbox_cursors (consumer, last_event_id) values (${c.name}, ${start})
      on conflict (consumer) do nothing`.execute(this.db);
    this.created.add(c.name);
  }

  private async runConsumer(c: OutboxConsumer): Promise<number> {
    await this.ensureCursor(c);
    // Peek without locking first: locking the cursor row gives the transaction an xid, and a running
    // xid holds back every commit-safe reader of the outbox (GET /v1/events, the feed) until it ends.
    // An idle consumer should not do that 7 times a second.
    const peek = await this.db
      .selectFrom("outbox_cursors")
      .select("last_event_id")
      .where("consumer", "=", c.name)
      .executeTakeFirst();
    if (!peek) return 0;
    const next = await listEvents(this.db, { after: Number(peek.last_event_id), limit: 1, payloadOf: [] });
    if (next.length === 0) return 0;
    return this.db.transaction().execute(async (tx) => {
      const cursor = await sql<{ last_event_id: number }>`
        select last_event_id from outbox_cursors where consumer = ${c.name} for update skip locked`.execute(
        tx,
      );
      const row = cursor.rows[0];
      if (!row) return 0; // another process holds it
      const events = await listEvents(tx, {
        after: Number(row.last_event_id),
        limit: c.batchSize ?? 500,
        types: c.types?.some((t) => t.endsWith("*")) ? undefined : c.types,
        payloadOf: c.payloads === false ? [] : undefined,
      });
      if (events.length === 0) return 0;
      const wanted = c.types ? events.filter((e) => matches(e.type, c.types)) : events;
      if (wanted.length) await c.handle(tx, wanted);
      await sql`update outbox_cursors set last_event_id = ${events[events.length - 1].id}, updated_at = now()
        where consumer = ${c.name}`.execute(tx);
      return wanted.length;
    });
  }
}
