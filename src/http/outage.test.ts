import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type TestContext, testApp, testDatabase } from "../../test/helpers.js";
import { createDb } from "../db/pool.js";
import { isDatabaseUnavailable } from "../db/tx.js";
import { buildApp } from "./app.js";
import { createApiKey } from "./auth.js";

let t: TestContext;
let admin: pg.Client;
let dbName: string;
beforeAll(async () => {
  t = await testApp();
  dbName = new URL(t.url).pathname.slice(1);
  admin = new pg.Client({ connectionString: inject("adminUrl") });
  await admin.connect();
});
afterAll(async () => {
  await admin.query(`alter database ${dbName} allow_connections true`);
  await admin.end();
  await t.close();
});

describe("while the database cannot be reached", () => {
  it("answers 503 unavailable with Retry-After, changes nothing, and recovers by itself", async () => {
    const before = await t.app.inject({ method: "GET", url: "/v1/orders", headers: t.auth });
    expect(before.statusCode).toBe(200);

    // the server refuses new sessions and drops the pool's existing ones: what a restart looks like from Keel
    await admin.query(`alter database ${dbName} allow_connections false`);
    await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [dbName]);

    for (const req of [
      { method: "GET" as const, url: "/v1/orders" },
      {
        method: "POST" as const,
        url: "/v1/locations",
        payload: { code: "NEW", name: "New", kind: "warehouse" },
      },
      { method: "GET" as const, url: "/health" },
    ]) {
      const res = await t.app.inject({ ...req, headers: t.auth });
      expect(res.statusCode, `${req.method} ${req.url}: ${res.body}`).toBe(503);
      expect(res.headers["retry-after"]).toBe("5");
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json()).toMatchObject({ status: 503, code: "unavailable" });
    }

    await admin.query(`alter database ${dbName} allow_connections true`);
    const after = await t.app.inject({ method: "GET", url: "/v1/locations", headers: t.auth });
    expect(after.statusCode).toBe(200);
    expect(after.json().data.map((l: { code: string }) => l.code)).not.toContain("NEW");
  });

  it("tells an outage from a bad query", () => {
    expect(
      isDatabaseUnavailable({ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:5432" }),
    ).toBe(true);
    expect(
      isDatabaseUnavailable({
        code: "57P01",
        message: "terminating connection due to administrator command",
      }),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable({ code: "23505", message: "duplicate key" })).toBe(false);
    expect(isDatabaseUnavailable({ code: "55000", message: "cannot refresh materialized view" })).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe("the log during an outage", () => {
  it("has one line when it starts and one when it ends, found by a probe without traffic", async () => {
    const database = await testDatabase();
    const name = new URL(database.url).pathname.slice(1);
    const db = createDb(database.url, 4);
    const lines: { msg: string; outage_ms?: number }[] = [];
    const app = await buildApp({
      db,
      dispatch: false,
      webDist: false,
      logger: { level: "warn", stream: { write: (l: string) => void lines.push(JSON.parse(l)) } },
    });
    await app.ready();
    const auth = { authorization: `Bearer ${(await createApiKey(db, "outage-log")).key}` };
    try {
      await admin.query(`alter database ${name} allow_connections false`);
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [name]);
      for (let i = 0; i < 5; i++) {
        const res = await app.inject({ method: "GET", url: "/v1/orders", headers: auth });
        expect(res.statusCode).toBe(503);
      }
      const started = lines.filter((l) => l.msg.startsWith("database unavailable"));
      expect(started).toHaveLength(1);
      expect(lines.filter((l) => l.msg === "request failed")).toHaveLength(0); // no stack trace per request

      await admin.query(`alter database ${name} allow_connections true`);
      // no request is needed: the probe notices the database is back
      for (let i = 0; i < 50 && !lines.some((l) => l.msg === "database reachable again"); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const ended = lines.filter((l) => l.msg === "database reachable again");
      expect(ended).toHaveLength(1);
      expect(ended[0]?.outage_ms).toBeGreaterThan(0);
      expect((await app.inject({ method: "GET", url: "/v1/orders", headers: auth })).statusCode).toBe(200);
      expect(lines.filter((l) => l.msg.startsWith("database unavailable"))).toHaveLength(1);
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
      await app.close();
      await db.destroy();
      await database.drop();
    }
  });
});
