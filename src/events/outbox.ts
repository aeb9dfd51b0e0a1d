import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { jsonbArray } from "../db/statements.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";

export interface OutboxEvent {
  id: number;
  type: string;
  payload: unknown;
  created_at: Date;
}

export interface NewEvent {
  type: string;
  payload: unknown;
}

/** Records events in the caller's transaction: they exist exactly when the change does. */
export async function emit(tx: Tx, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await sql`insert into outbox_events (type, payload)
    select t, p from unnest(${events.map((e) => e.type)}::text[], ${jsonbArray(events.map((e) => e.payload))}) as x(t, p)`.execute(
    tx,
  );
}

/**
 * Events after the one with id `after`, in commit-safe order: by writing
 * transaction, then id, and only from transactions older than every one still
 * running. A reader that resumes from the last id it saw never misses an event
 * whose transaction committed after a later-numbered one.
 */
export async function listEvents(
  db: DB,
  opts: {
    after: number;
    limit: number;
    types?: string[];
    /** Only these types' payloads are read (the others come with payload null); all when left out. */
    payloadOf?: string[];
  },
): Promise<OutboxEvent[]> {
  let from = sql`true`;
  if (opts.after > 0) {
    const cursor = await db
      .selectFrom("outbox_events")
      .select("id")
      .where("id", "=", opts.after)
      .executeTakeFirst();
    if (!cursor) throw new NotFound("event", opts.after);
    from = sql`(e.txid, e.id) > (select c.txid, c.id from outbox_events c where c.id = ${opts.after})`;
  }
  const rows = await sql<OutboxEvent>`
    select e.id, e.type,
      ${opts.payloadOf ? sql`case when e.type = any(${opts.payloadOf}::text[]) then e.payload end` : sql`e.payload`} as payload,
      e.created_at
    from outbox_events e
    where e.txid < pg_snapshot_xmin(pg_current_snapshot()) and ${from}
      ${opts.types?.length ? sql`and e.type = any(${opts.types}::text[])` : sql``}
    order by e.txid, e.id limit ${opts.limit}`.execute(db);
  return rows.rows;
}
