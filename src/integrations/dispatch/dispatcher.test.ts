import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { createDb, type DB } from "../../db/pool.js";
import { inTransaction, type Tx } from "../../db/tx.js";
import { emit, listEvents, type OutboxEvent } from "../../events/outbox.js";
import type { OutboxConsumer } from "./consumer.js";
import { Dispatcher } from "./dispatcher.js";

let t: TestContext;
let other: DB; // a second pool: a second Keel process
beforeAll(async () => {
  t = await testApp();
  other = createDb(t.url, 5);
  await sql`create table test_handled (consumer text, event_id bigint, primary key (consumer, event_id))`.execute(
    t.db,
  );
});
afterAll(async () => {
  await other.destroy();
  await t.close();
});

/** Every event handed to any consumer, before the handler does anything (a double hand-over shows here). */
const handed: number[] = [];

/** Records what it is handed, in its transaction; `seen` gets the events of batches that went through. */
function recorder(name: string, seen: number[], opts: Partial<OutboxConsumer> = {}): OutboxConsumer {
  return {
    name,
    types: ["test.*"],
    batchSize: 7,
    ...opts,
    async handle(tx: Tx, events: OutboxEvent[]) {
      handed.push(...events.map((e) => e.id));
      await sql`insert into test_handled select ${name}, unnest(${events.map((e) => e.id)}::bigint[])`.execute(
        tx,
      );
      await opts.handle?.(tx, events);
      seen.push(...events.map((e) => e.id));
    },
  };
}

async function emitMany(type: string, txs: number, perTx: number): Promise<number[]> {
  const before = await sql<{ m: number }>`select coalesce(max(id), 0) as m from outbox_events`.execute(t.db);
  await Promise.all(
    Array.from({ length: txs }, (_, i) =>
      inTransaction(t.db, (tx) =>
        emit(
          tx,
          Array.from({ length: perTx }, (_, j) => ({ type, payload: { i, j } })),
        ),
      ),
    ),
  );
  const rows = await sql<{
    id: number;
  }>`select id from outbox_events where id > ${before.rows[0].m} and type = ${type}
    order by id`.execute(t.db);
  return rows.rows.map((r) => Number(r.id));
}

// The commit horizon is cluster-wide: under the full suite another test's transaction can hold it back for seconds.
async function until(cond: () => Promise<boolean> | boolean, ms = 45_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const handledIn = async (consumer: string) =>
  (
    await sql<{
      event_id: number;
    }>`select event_id from test_handled where consumer = ${consumer} order by event_id`.execute(t.db)
  ).rows.map((r) => Number(r.event_id));

describe("outbox dispatcher", () => {
  it("starts after the newest committed event, and two processes never hand an event over twice", async () => {
    await emitMany("test.history", 1, 3);
    // "now" is the commit-safe present: wait until no older transaction (the app's own dispatcher) is running
    await until(async () => {
      const r = await sql<{ n: number }>`select count(*)::int as n from outbox_events
        where type = 'test.history' and txid < pg_snapshot_xmin(pg_current_snapshot())`.execute(t.db);
      return r.rows[0].n === 3;
    });
    const seen: number[] = [];
    const c = recorder("two-procs", seen);
    const a = new Dispatcher(t.db, [c], { intervalMs: 5 });
    const b = new Dispatcher(other, [c], { intervalMs: 5 });
    await a.tick(); // creates the cursor: history is skipped
    a.start();
    b.start();
    const ids = [...(await emitMany("test.one", 40, 5)), ...(await emitMany("test.two", 20, 3))];
    await until(() => seen.length >= ids.length);
    await new Promise((r) => setTimeout(r, 100)); // nothing further arrives
    await Promise.all([a.stop(), b.stop()]);
    expect(handed.length).toBe(ids.length);
    expect(new Set(handed).size).toBe(handed.length);
    expect([...seen].sort((x, y) => x - y)).toEqual(ids);
    expect(await handledIn("two-procs")).toEqual(ids);
  });

  it("leaves out types it did not ask for, and redelivers a batch whose handler threw", async () => {
    const seen: number[] = [];
    let failures = 0;
    const c = recorder("flaky", seen, {
      types: ["test.keep"],
      async handle() {
        if (failures < 3) {
          failures++;
          throw new Error("consumer down");
        }
      },
    });
    const d = new Dispatcher(t.db, [c], { intervalMs: 5 });
    await d.tick();
    const kept = await emitMany("test.keep", 5, 4);
    await emitMany("test.skip", 2, 2);
    d.start();
    await until(() => seen.length >= kept.length);
    await d.stop();
    expect(failures).toBe(3);
    expect([...seen].sort((x, y) => x - y)).toEqual(kept);
    expect(await handledIn("flaky")).toEqual(kept); // the failed attempts' writes rolled back with them
    const cursor = await t.db
      .selectFrom("outbox_cursors")
      .select("last_event_id")
      .where("consumer", "=", "flaky")
      .executeTakeFirstOrThrow();
    // the outbox is in commit (txid) order, not id order: five concurrent emitters may commit 283 before
    // 282, so the cursor rests on the last event in outbox order; nothing kept may lie beyond it
    const after = await listEvents(t.db, { after: Number(cursor.last_event_id), limit: 1000, payloadOf: [] });
    expect(after.filter((e) => kept.includes(e.id))).toEqual([]);
  });
});
