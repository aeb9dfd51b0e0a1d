import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { isDatabaseUnavailable } from "../db/tx.js";

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
