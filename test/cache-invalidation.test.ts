import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type DB } from "../src/db/pool.js";
import { type App, buildApp } from "../src/http/app.js";
import { createApiKey } from "../src/http/auth.js";
import { testDatabase } from "./helpers.js";

/**
 * A change made through process A, seen by process B: two Keel apps on one
 * database, each with its own pool, caches, outbox feed and LISTEN
 * connection, as two processes have. Staleness is measured from A's reply
 * to the first request on B that answers with the change, and printed; the
 * test asserts only that B sees every change (bounded by a 10 s deadline),
 * never a time figure.
 */
let drop: () => Promise<void>;
const dbs: DB[] = [];
let a: App;
let b: App;
let auth: { authorization: string };
const ROUNDS = 30;

async function keel(url: string): Promise<App> {
  const db = createDb(url, 4);
  dbs.push(db);
  const app = await buildApp({ db, logger: false });
  await app.ready();
  return app;
}

beforeAll(async () => {
  const database = await testDatabase();
  drop = database.drop;
  a = await keel(database.url);
  b = await keel(database.url);
  auth = { authorization: `Bearer ${(await createApiKey(dbs[0], "cache test")).key}` };
});

afterAll(async () => {
  await a.close();
  await b.close();
  for (const db of dbs) await db.destroy();
  await drop();
});

/** Polls `seen` on B as fast as it answers until true; the milliseconds since `since`. */
async function staleness(since: number, seen: () => Promise<boolean>): Promise<number> {
  while (!(await seen())) {
    if (performance.now() - since > 10_000) throw new Error("B did not see A's change within 10 s");
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - since;
}

function report(what: string, ms: number[]): void {
  const sorted = [...ms].sort((x, y) => x - y);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  console.log(
    `staleness A→B, ${what}: n=${ms.length} p50 ${at(50).toFixed(1)} ms, p99 ${at(99).toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`,
  );
}

describe("caches invalidated across processes", () => {
  it("a key revoked through A stops working on B", async () => {
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const created = await createApiKey(dbs[0], `revoked ${i}`);
      const headers = { authorization: `Bearer ${created.key}` };
      // B has the key cached
      expect((await b.inject({ method: "GET", url: "/v1/events?limit=1", headers })).statusCode).toBe(200);
      expect((await b.inject({ method: "GET", url: "/v1/events?limit=1", headers })).statusCode).toBe(200);
      const res = await a.inject({ method: "DELETE", url: `/v1/api-keys/${created.id}`, headers: auth });
      expect(res.statusCode).toBe(200);
      const since = performance.now();
      ms.push(
        await staleness(
          since,
          async () =>
            (await b.inject({ method: "GET", url: "/v1/events?limit=1", headers })).statusCode === 401,
        ),
      );
    }
    report("API key revoked", ms);
  });

  it("a stock change through A reaches B's storefront cache", async () => {
    const sku = `STALE-${Date.now()}`;
    const code = `ST${Date.now() % 100000}`;
    const post = async (url: string, payload: object) => {
      const res = await a.inject({ method: "POST", url, headers: auth, payload });
      if (res.statusCode >= 300) throw new Error(`${url} -> ${res.statusCode} ${res.body}`);
    };
    await post("/v1/locations", { code, name: code, kind: "warehouse", priority: 1, country: "DE" });
    await post("/v1/products", {
      title: "Staleness probe",
      kind: "physical",
      status: "active",
      variants: [{ sku, price: 100, currency: "EUR" }],
    });
    const status = async () =>
      (await b.inject({ method: "GET", url: `/v1/storefront/availability?skus=${sku}` })).json().data[0]
        .status;
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const onHand = i % 2 === 0 ? 50 : 0;
      const want = onHand > 0 ? "in_stock" : "out_of_stock";
      await status(); // B has the current answer cached
      await post("/v1/inventory/adjustments", { sku, location: code, set: onHand, reason: "correction" });
      const since = performance.now();
      ms.push(await staleness(since, async () => (await status()) === want));
    }
    report("storefront availability", ms);
  });

  it("order settings changed through A are what B reads next", async () => {
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const hours = 24 + i;
      const res = await a.inject({
        method: "PUT",
        url: "/v1/settings/orders",
        headers: auth,
        payload: { default_sla_hours: hours },
      });
      expect(res.statusCode).toBe(200);
      const since = performance.now();
      const first = (await b.inject({ method: "GET", url: "/v1/settings/orders", headers: auth })).json();
      expect(first.default_sla_hours).toBe(hours); // not cached in any process: never stale
      ms.push(performance.now() - since);
    }
    report("order settings (read per request, no cache)", ms);
  });
});
