import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../test/helpers.js";
import { createDb, type DB } from "../db/pool.js";
import { type App, buildApp } from "./app.js";

describe("the admin app at /", () => {
  let app: App;
  let db: DB;
  let drop: () => Promise<void>;
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), "keel-web-"));

  beforeAll(async () => {
    fs.mkdirSync(path.join(dist, "assets"));
    fs.writeFileSync(path.join(dist, "index.html"), "<!doctype html><title>Keel</title>");
    fs.writeFileSync(path.join(dist, "assets", "index-abc.js"), "console.log(1)");
    const database = await testDatabase();
    drop = database.drop;
    db = createDb(database.url, 2);
    app = await buildApp({ db, webDist: dist, dispatch: false, logger: { level: "error" } });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await db.destroy();
    await drop();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it("serves index.html at / and for any deep link, never cached", async () => {
    for (const url of ["/", "/orders", "/orders/42?status=received", "/ledger?sku=A"]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["content-type"]).toMatch(/text\/html/);
      expect(res.headers["cache-control"]).toBe("no-cache");
      expect(res.body).toContain("<title>Keel</title>");
    }
  });

  it("serves hashed assets with a year's cache", async () => {
    const res = await app.inject({ url: "/assets/index-abc.js" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/javascript/);
    expect(res.headers["cache-control"]).toContain("immutable");
  });

  it("never shadows the API or the server's own paths", async () => {
    const openapi = await app.inject({ url: "/openapi.json" });
    expect(openapi.statusCode).toBe(200);
    expect(openapi.json().openapi).toBe("3.1.0");
    expect((await app.inject({ url: "/health" })).json()).toEqual({ status: "ok" });
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(200);
    // an unknown API path stays a problem+json (401 without a key), not the app
    const api = await app.inject({ url: "/v1/nope" });
    expect(api.statusCode).toBe(401);
    expect(api.headers["content-type"]).toMatch(/problem\+json/);
    for (const url of ["/storefront/nothing", "/storefront-demo-x", "/assets/missing.js", "/favicon.ico"]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers["content-type"], url).toMatch(/problem\+json/);
    }
    expect((await app.inject({ method: "POST", url: "/orders" })).statusCode).toBe(404);
  });
});
