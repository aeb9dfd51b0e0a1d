import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers.js";
import { createDb, type DB } from "../../db/pool.js";
import { inTransaction } from "../../db/tx.js";
import { emit } from "../../events/outbox.js";
import { Dispatcher } from "../dispatch/dispatcher.js";
import { webhookConsumer } from "./consumer.js";
import { backoffMs, DEFAULT_SCHEDULE, WebhookSender } from "./sender.js";
import { createSubscription } from "./subscriptions.js";

// Two Keel processes (two pools, two senders) and a receiver that can be slow.
const got = new Map<string, number[]>();
let slowFirst = 0;
let receiver: Server;
let base: string;
let db: DB;
let db2: DB;
let drop: () => Promise<void>;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const id = JSON.parse(raw).id as number;
      const answer = () => {
        got.set(req.url ?? "", [...(got.get(req.url ?? "") ?? []), id]);
        res.writeHead(200).end();
      };
      if (req.url === "/slow" && slowFirst > 0) {
        slowFirst--;
        setTimeout(() => res.writeHead(200).end(), 600); // answers after the sender gave up
      } else answer();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const addr = receiver.address();
  base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 10);
  db2 = createDb(database.url, 10);
});
afterAll(async () => {
  await db.destroy();
  await db2.destroy();
  await drop();
  await new Promise((r) => receiver.close(r));
});

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function subscribe(path: string, events: string[]) {
  return inTransaction(db, (tx) => createSubscription(tx, { url: `${base}${path}`, events }));
}

async function emitSeq(type: string, n: number): Promise<number[]> {
  for (let i = 0; i < n; i += 10)
    await inTransaction(db, (tx) =>
      emit(
        tx,
        Array.from({ length: Math.min(10, n - i) }, (_, j) => ({ type, payload: { i: i + j } })),
      ),
    );
  const rows = await db
    .selectFrom("outbox_events")
    .select("id")
    .where("type", "=", type)
    .orderBy("id")
    .execute();
  return rows.map((r) => r.id);
}

describe("webhook sender", () => {
  it("two processes sending at once deliver each event once per subscription, in order", async () => {
    const dispatcher = new Dispatcher(db, [webhookConsumer], { intervalMs: 5 });
    await dispatcher.tick(); // the consumer's cursor: from now on
    await subscribe("/one", ["load.*"]);
    await subscribe("/two", ["load.b"]);
    const senders = [
      new WebhookSender(db, { intervalMs: 1, batchSize: 10 }),
      new WebhookSender(db2, { intervalMs: 1, batchSize: 10 }),
    ];
    dispatcher.start();
    for (const s of senders) s.start();
    const a = await emitSeq("load.a", 120);
    const b = await emitSeq("load.b", 60);
    const all = [...a, ...b].sort((x, y) => x - y);
    await until(() => got.get("/one")?.length === all.length && got.get("/two")?.length === b.length);
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all([dispatcher.stop(), ...senders.map((s) => s.stop())]);
    expect(got.get("/one")).toEqual(all);
    expect(got.get("/two")).toEqual(b);
  });

  it("a delivery whose sender died after leasing it is sent once its lease runs out; a timeout is retried", async () => {
    const sub = await subscribe("/slow", ["crash.*"]);
    const dispatcher = new Dispatcher(db, [webhookConsumer]);
    await dispatcher.tick();
    const [first, second] = await emitSeq("crash.x", 2);
    // a tick hands over only events older than every transaction still open in the cluster (other test
    // files' included), so tick until both deliveries exist rather than once
    await until(async () => {
      await dispatcher.tick();
      const n = await db
        .selectFrom("webhook_deliveries")
        .select(db.fn.countAll<number>().as("n"))
        .where("subscription_id", "=", sub.id)
        .executeTakeFirstOrThrow();
      return Number(n.n) === 2;
    });
    // a sender leased the first delivery and was killed before sending
    await db
      .updateTable("webhook_deliveries")
      .set({ leased_until: new Date(Date.now() + 400), attempt: 1 })
      .where("subscription_id", "=", sub.id)
      .where("event_id", "=", first)
      .execute();
    slowFirst = 1;
    const started = Date.now();
    const sender = new WebhookSender(db, {
      intervalMs: 10,
      timeoutMs: 200,
      schedule: { baseMs: 50, jitter: 0 },
    });
    sender.start();
    await until(() => got.get("/slow")?.length === 2);
    await sender.stop();
    expect(Date.now() - started).toBeGreaterThan(400 + 200);
    expect(got.get("/slow")).toEqual([first, second]);
    const rows = await db
      .selectFrom("webhook_deliveries")
      .select(["event_id", "attempt", "status", "error"])
      .where("subscription_id", "=", sub.id)
      .orderBy("id")
      .execute();
    expect(rows).toEqual([
      { event_id: first, attempt: 3, status: "delivered", error: null },
      { event_id: second, attempt: 1, status: "delivered", error: null },
    ]);
  });

  it("backs off exponentially with jitter, capped, over about a day by default", () => {
    const s = DEFAULT_SCHEDULE;
    expect(backoffMs(1, s, () => 0.5)).toBe(30_000);
    expect(backoffMs(2, s, () => 0.5)).toBe(60_000);
    expect(backoffMs(20, s, () => 0.5)).toBe(3_600_000);
    expect(backoffMs(1, s, () => 0)).toBe(24_000);
    expect(backoffMs(1, s, () => 1)).toBe(36_000);
    let total = 0;
    for (let n = 1; n < s.maxAttempts; n++) total += backoffMs(n, s, () => 0.5);
    expect(total / 3_600_000).toBeGreaterThan(22);
    expect(total / 3_600_000).toBeLessThan(26);
  });
});
