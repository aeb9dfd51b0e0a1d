import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers.js";
import { createDb } from "../../db/pool.js";
import type { Tx } from "../../db/tx.js";
import type { OutboxEvent } from "../../events/outbox.js";
import { buildApp } from "../../http/app.js";
import { createApiKey } from "../../http/auth.js";
import { natsPublisher, subjectFor } from "./publisher.js";

// the machine's NATS server with JetStream (CI runs on the same machine)
const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const stream = `KEEL_TEST_${run}`;
const prefix = `keeltest${run}`;

afterAll(async () => {
  const nc = await connect({ servers: url });
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
  await nc.close();
});

const events: OutboxEvent[] = [
  { id: 41, type: "order.placed", payload: { order_id: 7 }, created_at: new Date("2026-12-03T10:00:00Z") },
  { id: 42, type: "stock.changed", payload: { sku: "TEE", available: 3 }, created_at: new Date() },
  { id: 43, type: "order.shipped", payload: { order_id: 7 }, created_at: new Date() },
];

describe("NATS JetStream publisher", () => {
  it("publishes each event once as <prefix>.<type> with the event id as message id, even when a batch is sent again", async () => {
    const publisher = await natsPublisher({ url, stream, prefix });
    try {
      const tx = {} as Tx; // the publisher writes nothing to the database
      await publisher.handle(tx, events);
      await publisher.handle(tx, events.slice(1)); // a redelivery after a crash before the cursor moved

      const nc = await connect({ servers: url });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(3);
      const first = await jsm.streams.getMessage(stream, { seq: 1 });
      expect(first?.subject).toBe(`${prefix}.order.placed`);
      expect(first?.header?.get("Nats-Msg-Id")).toBe("41");
      expect(first?.json()).toEqual({
        id: 41,
        type: "order.placed",
        created_at: "2026-12-03T10:00:00.000Z",
        data: { order_id: 7 },
      });
      const last = await jsm.streams.getMessage(stream, { last_by_subj: `${prefix}.order.shipped` });
      expect(last?.header?.get("Nats-Msg-Id")).toBe("43");
      await nc.close();
    } finally {
      await publisher.close();
    }
  });

  it("reuses the stream on restart and turns types into valid subjects", async () => {
    const again = await natsPublisher({ url, stream, prefix });
    await again.close();
    expect(subjectFor("keel", "order.placed")).toBe("keel.order.placed");
    expect(subjectFor("keel", "odd type>*")).toBe("keel.odd_type_");
  });

  it("fails loudly when NATS cannot be reached, so the batch is not counted as sent", async () => {
    await expect(natsPublisher({ url: "nats://127.0.0.1:1", stream, prefix })).rejects.toThrow();
  });
});

describe("NATS in a running Keel", () => {
  it("carries a committed change from the outbox to JetStream through the dispatcher", async () => {
    const database = await testDatabase();
    const db = createDb(database.url, 5);
    const appStream = `${stream}_APP`;
    const appPrefix = `${prefix}app`;
    const app = await buildApp({
      db,
      dispatch: { intervalMs: 20 },
      nats: { url, stream: appStream, prefix: appPrefix },
    });
    const nc = await connect({ servers: url });
    try {
      await app.ready();
      // The consumer starts after the newest committed event: wait for its cursor before writing,
      // or a write that lands first (a busy machine) is rightly never published.
      for (let i = 0; i < 400; i++) {
        const cursor =
          await sql`select 1 from outbox_cursors where consumer = ${`nats:${appStream}`}`.execute(db);
        if (cursor.rows.length) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const { key } = await createApiKey(db, "nats");
      const res = await app.inject({
        method: "POST",
        url: "/v1/locations",
        headers: { authorization: `Bearer ${key}` },
        payload: { code: "NATS-WH", name: "NATS", kind: "warehouse" },
      });
      expect(res.statusCode).toBe(201);
      const jsm = await jetstreamManager(nc);
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from outbox_events`.execute(db);
      const deadline = Date.now() + 30_000; // the commit horizon is cluster-wide: other tests' transactions hold it back
      let messages = 0;
      while (Date.now() < deadline) {
        messages = (await jsm.streams.info(appStream)).state.messages;
        if (messages >= rows[0].n && rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows[0].n).toBeGreaterThan(0);
      expect(messages).toBe(rows[0].n);
      await jsm.streams.delete(appStream);
    } finally {
      await nc.close();
      await app.close();
      await db.destroy();
      await database.drop();
    }
  });
});
