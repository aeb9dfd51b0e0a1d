import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "./helpers.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

describe("platform", () => {
  it("serves health without a key", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("refuses /v1 without a valid key with problem+json", async () => {
    for (const headers of [{}, { authorization: "Bearer keel_nope" }, { authorization: "Basic abc" }]) {
      const res = await t.app.inject({ method: "GET", url: "/v1/events", headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json().code).toBe("unauthorized");
    }
  });

  it("serves an OpenAPI 3.1 document", async () => {
    const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/v1/events"]).toBeDefined();
  });

  it("answers unknown routes with problem+json 404", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/nothing-here", headers: t.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe("not_found");
  });

  it("rejects bad query parameters with the field path", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/events?limit=0&bogus=1", headers: t.auth });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("validation_failed");
    expect(JSON.stringify(res.json().errors)).toMatch(/querystring/);
  });
});

describe("migrations", () => {
  it("apply each file exactly once when several processes start at the same time", async () => {
    const { inject } = await import("vitest");
    const pg = (await import("pg")).default;
    const { migrate } = await import("../src/db/migrate.js");
    const { withDatabase } = await import("./global-setup.js");
    const name = `keel_migrate_${Date.now()}`;
    const admin = new pg.Client({ connectionString: inject("adminUrl") });
    await admin.connect();
    await admin.query(`create database ${name}`);
    try {
      const url = withDatabase(inject("adminUrl"), name);
      const results = await Promise.all(Array.from({ length: 4 }, () => migrate(url)));
      const applied = results.flatMap((r) => r.applied);
      const files = (await import("node:fs")).readdirSync("migrations").filter((f) => f.endsWith(".sql"));
      expect(applied.sort()).toEqual(files.sort());
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const rows = await c.query("select name from schema_migrations order by name");
      await c.end();
      expect(rows.rows.map((r) => r.name)).toEqual(files.sort());
      expect((await migrate(url)).applied).toEqual([]);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
