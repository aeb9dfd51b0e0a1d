import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers.js";
import { createDb, type DB } from "../../db/pool.js";
import type { Tx } from "../../db/tx.js";
import { listEvents } from "../../events/outbox.js";
import { type App, buildApp } from "../../http/app.js";
import { createApiKey } from "../../http/auth.js";
import { followKeelEvents, type KeelEvent } from "./follow.js";
import { natsPublisher } from "./publisher.js";

// Four Keel processes (apps with pools of their own) relaying one outbox to JetStream at once.
const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const stream = `KEEL_RELAYS_${run}`;
const prefix = `keelrelays${run}`;
let drop: () => Promise<void>;
const dbs: DB[] = [];
const apps: App[] = [];
let auth: { authorization: string };

beforeAll(async () => {
  const database = await testDatabase();
  drop = database.drop;
  for (let i = 0; i < 4; i++) {
    const db = createDb(database.url, 4);
    dbs.push(db);
    const app = await buildApp({
      db,
      logger: false,
      webDist: false,
      dispatch: { intervalMs: 20 },
      nats: { url, stream, prefix },
    });
    await app.ready();
    apps.push(app);
  }
  auth = { authorization: `Bearer ${(await createApiKey(dbs[0], "relays")).key}` };
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const db of dbs) await db.destroy();
  const nc = await connect({ servers: url });
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
  await nc.close();
  await drop();
});

describe("four processes relaying to JetStream", () => {
  it("publish each event once, in order per aggregate, and a re-sent batch is dropped", async () => {
    const consumer = `nats:${stream}`;
    let start: number | undefined;
    for (let i = 0; i < 400 && start === undefined; i++) {
      const row = await sql<{ id: number }>`
        select last_event_id::int as id from outbox_cursors where consumer = ${consumer}`.execute(dbs[0]);
      start = row.rows[0]?.id;
      if (start === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(start).toBeDefined();

    const post = async (i: number, path: string, payload: object) => {
      const res = await apps[i % 4].inject({ method: "POST", url: path, headers: auth, payload });
      if (res.statusCode >= 300) throw new Error(`${path} -> ${res.statusCode} ${res.body}`);
    };
    await post(0, "/v1/locations", { code: "NR", name: "NR", kind: "warehouse", priority: 1, country: "DE" });
    const skus = ["NR-A", "NR-B", "NR-C"];
    await post(1, "/v1/products", {
      title: "Relayed",
      kind: "physical",
      status: "active",
      options: ["Pack"],
      variants: skus.map((sku, i) => ({
        sku,
        price: 100,
        currency: "EUR",
        options: { Pack: String(i + 1) },
      })),
    });
    // 60 stock changes, three SKUs in parallel, each SKU's changes one after another through rotating processes
    await Promise.all(
      skus.map(async (sku, s) => {
        for (let n = 1; n <= 20; n++) {
          await post(n + s, "/v1/inventory/adjustments", {
            sku,
            location: "NR",
            set: n,
            reason: "correction",
          });
        }
      }),
    );

    // every event written, once the commit horizon (cluster-wide: other tests' transactions) has passed it
    const last = await sql<{ id: number }>`select max(id)::int as id from outbox_events`.execute(dbs[0]);
    let expected: number[] = [];
    for (const end = Date.now() + 40_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      expected = (await listEvents(dbs[0], { after: start as number, limit: 10_000 })).map((e) => e.id);
      if (expected.at(-1) === last.rows[0].id) break;
    }
    expect(expected.length).toBeGreaterThanOrEqual(61);
    const seen: Array<KeelEvent & { seq: number }> = [];
    const follower = await followKeelEvents(
      { url, stream, durable: `relays-${run}`, subject: `${prefix}.>` },
      (e, m) => {
        seen.push({ ...e, seq: m.seq });
      },
    );
    const deadline = Date.now() + 40_000; // the commit horizon is cluster-wide: other tests' transactions hold it back
    while (seen.length < expected.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));

    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // once each
    const byId = (x: number, y: number) => x - y;
    expect([...ids].sort(byId)).toEqual([...expected].sort(byId)); // every one
    for (const sku of skus) {
      const mine = seen.filter((e) => (e.data as { sku?: string } | null)?.sku === sku);
      expect(mine.length).toBe(20);
      const bySeq = [...mine].sort((x, y) => x.seq - y.seq).map((e) => e.id);
      expect(bySeq).toEqual([...bySeq].sort((x, y) => x - y)); // in order per aggregate
    }

    // a relay that published and died before its cursor moved: the next one sends the batch again
    const again = await natsPublisher({ url, stream, prefix });
    const batch = await listEvents(dbs[0], { after: start as number, limit: 10 });
    await again.handle(undefined as unknown as Tx, batch);
    await again.close();
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.length).toBe(expected.length);
    const nc = await connect({ servers: url });
    expect((await (await jetstreamManager(nc)).streams.info(stream)).state.messages).toBe(expected.length);
    await nc.close();
    await follower.stop();
  });
});
