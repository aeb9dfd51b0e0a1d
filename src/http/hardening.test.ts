import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../test/helpers.js";
import { createDb, type DB } from "../db/pool.js";
import { type App, buildApp } from "./app.js";
import { createApiKey } from "./auth.js";

const SHOP = "https://shop.example";
let app: App;
let db: DB;
let drop: () => Promise<void>;
let keyA: string;
let keyB: string;
const dist = fs.mkdtempSync(path.join(os.tmpdir(), "keel-harden-"));

beforeAll(async () => {
  fs.mkdirSync(path.join(dist, "assets"));
  fs.writeFileSync(
    path.join(dist, "index.html"),
    '<!doctype html><title>Keel</title><script type="module" src="/assets/index-x.js"></script>',
  );
  fs.writeFileSync(path.join(dist, "assets", "index-x.js"), "console.log(1)");
  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 4);
  app = await buildApp({
    db,
    dispatch: false,
    webDist: dist,
    limits: { perPrincipal: 3, perIp: 6, windowMs: 60_000, bodyLimit: 2048, storefrontOrigins: [SHOP] },
  });
  await app.ready();
  keyA = (await createApiKey(db, "limit-a")).key;
  keyB = (await createApiKey(db, "limit-b")).key;
});
afterAll(async () => {
  await app.close();
  await db.destroy();
  await drop();
  fs.rmSync(dist, { recursive: true, force: true });
});

const get = (url: string, ip: string, headers: Record<string, string> = {}) =>
  app.inject({ method: "GET", url, headers, remoteAddress: ip });

describe("rate limits", () => {
  it("limits each API key, with 429 rate_limited and Retry-After, and leaves other keys alone", async () => {
    const a = { authorization: `Bearer ${keyA}` };
    // each request from its own address, so only the key's limit counts
    for (let i = 0; i < 3; i++) expect((await get("/v1/locations", `10.1.0.${i}`, a)).statusCode).toBe(200);
    const limited = await get("/v1/locations", "10.1.0.9", a);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["content-type"]).toContain("application/problem+json");
    expect(limited.json()).toMatchObject({ status: 429, code: "rate_limited" });
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // another key is not affected
    expect((await get("/v1/locations", "10.1.0.10", { authorization: `Bearer ${keyB}` })).statusCode).toBe(
      200,
    );
  });

  it("limits each client address before authentication, so guessing keys is bounded too", async () => {
    const bad = { authorization: "Bearer not-a-key" };
    for (let i = 0; i < 6; i++) expect((await get("/v1/locations", "10.2.0.1", bad)).statusCode).toBe(401);
    const limited = await get("/health", "10.2.0.1");
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe("rate_limited");
    expect(limited.headers["retry-after"]).toBeDefined();
    expect((await get("/health", "10.2.0.2")).statusCode).toBe(200);
  });
});

describe("security headers", () => {
  it("sets helmet's headers on API answers", async () => {
    const res = await get("/health", "10.3.0.1");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["content-security-policy"]).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers["strict-transport-security"]).toContain("max-age=");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["cross-origin-resource-policy"]).toBe("same-origin");
    expect(res.headers["x-powered-by"]).toBeUndefined();
    const api = await get("/v1/locations", "10.3.0.1"); // a 401 problem: still an API answer
    expect(api.headers["content-security-policy"]).toBe("default-src 'none';frame-ancestors 'none'");
    expect(api.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("lets the admin app load its own scripts and styles, and nothing from elsewhere", async () => {
    const page = await get("/orders", "10.3.0.2");
    expect(page.statusCode).toBe(200);
    expect(page.headers["x-frame-options"]).toBe("SAMEORIGIN");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/style-src 'self'[^;]*'unsafe-inline'/); // Mantine writes style elements
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("upgrade-insecure-requests"); // Keel is served over http on localhost
    expect((await get("/assets/index-x.js", "10.3.0.2")).statusCode).toBe(200);
    expect((await get("/docs/static/swagger-ui-bundle.js", "10.3.0.2")).statusCode).toBe(200);
  });
});

describe("CORS", () => {
  it("answers the storefront's configured origins only, and no other endpoint", async () => {
    const ok = await get("/v1/storefront/availability?skus=NONE-1", "10.4.0.1", { origin: SHOP });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["access-control-allow-origin"]).toBe(SHOP);
    expect(ok.headers["cross-origin-resource-policy"]).toBe("cross-origin");
    expect(String(ok.headers.vary).toLowerCase()).toContain("origin");
    const other = await get("/v1/storefront/availability?skus=NONE-1", "10.4.0.1", {
      origin: "https://evil.example",
    });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    const api = await get("/v1/locations", "10.4.0.2", { origin: SHOP, authorization: `Bearer ${keyB}` });
    expect(api.headers["access-control-allow-origin"]).toBeUndefined();

    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/v1/storefront/availability?skus=A",
      remoteAddress: "10.4.0.3",
      headers: { origin: SHOP, "access-control-request-method": "GET" },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe(SHOP);
    expect(preflight.headers["access-control-allow-methods"]).toBe("GET, HEAD");
    const noPreflight = await app.inject({
      method: "OPTIONS",
      url: "/v1/orders",
      remoteAddress: "10.4.0.3",
      headers: { origin: SHOP, "access-control-request-method": "POST" },
    });
    expect(noPreflight.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("keeps the headers on the hijacked availability stream", async () => {
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const ctl = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/v1/storefront/availability/stream?skus=NONE-1`, {
      headers: { origin: SHOP },
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    ctl.abort();
  });
});

describe("body size", () => {
  it("refuses a body over the limit with 413 problem+json and changes nothing", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/locations",
      remoteAddress: "10.5.0.1",
      headers: { authorization: `Bearer ${keyB}`, "content-type": "application/json" },
      payload: JSON.stringify({ code: "BIG", name: "x".repeat(4000), kind: "warehouse" }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({ status: 413, code: "payload_too_large" });
    const rows = await db.selectFrom("locations").select("code").where("code", "=", "BIG").execute();
    expect(rows).toEqual([]);
  });
});
