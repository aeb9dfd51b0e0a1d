import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers.js";
import { createDb, type DB } from "../../db/pool.js";
import { inTransaction } from "../../db/tx.js";
import { type App, buildApp } from "../../http/app.js";
import { createApiKey } from "../../http/auth.js";
import { type FailureReport, recordFailure } from "./failures.js";
import type { RetryHandlers } from "./retry.js";

/** The integration monitor: list failures, retry them through per-source handlers, and see health. */
let db: DB;
let app: App;
let auth: { authorization: string };
let drop: () => Promise<void>;
const handlers: RetryHandlers = new Map();
const calls: number[] = [];
let flakyFailsLeft = 1;

beforeAll(async () => {
  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 10);
  // a handler that succeeds and writes in the retry's transaction, and one that fails once
  handlers.set("test-ok", async (f, tx) => {
    calls.push(Number(f.id));
    await tx
      .insertInto("integration_failures")
      .values({ source: "test-side-effect", operation: "mark", subject: String(f.id), error: "x" })
      .execute();
  });
  handlers.set("test-flaky", async (f, tx) => {
    await tx
      .insertInto("integration_failures")
      .values({ source: "test-side-effect", operation: "flaky", subject: String(f.id), error: "x" })
      .execute();
    if (flakyFailsLeft-- > 0) throw new Error("receiver still down");
  });
  app = await buildApp({ db, feedIntervalMs: 0, retryHandlers: handlers });
  await app.ready();
  auth = { authorization: `Bearer ${(await createApiKey(db, "test")).key}` };
});
afterAll(async () => {
  await app.close();
  await db.destroy();
  await drop();
});

const fail = (f: Partial<FailureReport> & { source: string }) =>
  inTransaction(db, (tx) => recordFailure(tx, { operation: "deliver", error: "boom", ...f }));
const get = (url: string) => app.inject({ method: "GET", url, headers: auth });
const post = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url, headers: { ...auth, ...headers } });
const sideEffects = async (op: string) =>
  (
    await db
      .selectFrom("integration_failures")
      .select("subject")
      .where("source", "=", "test-side-effect")
      .where("operation", "=", op)
      .execute()
  ).map((r) => r.subject);

describe("integration monitor", () => {
  it("lists failures filtered by channel, status and source, paged by cursor", async () => {
    await fail({ source: "list", channel: "shop-a", subject: "1" });
    await fail({ source: "list", channel: "shop-a", subject: "2" });
    await fail({ source: "list", channel: "shop-b", subject: "3" });
    const a = await get("/v1/integrations/failures?source=list&channel=shop-a&limit=1");
    expect(a.statusCode).toBe(200);
    expect(a.json().data.map((f: { subject: string }) => f.subject)).toEqual(["2"]);
    const next = await get(
      `/v1/integrations/failures?source=list&channel=shop-a&limit=1&cursor=${a.json().next_cursor}`,
    );
    expect(next.json().data.map((f: { subject: string }) => f.subject)).toEqual(["1"]);
    expect(next.json().next_cursor).toBeNull();
    const f = next.json().data[0];
    expect(f).toMatchObject({
      source: "list",
      channel: "shop-a",
      operation: "deliver",
      status: "open",
      attempts: 1,
    });
    expect((await get("/v1/integrations/failures?source=list&status=resolved")).json().data).toEqual([]);
    expect((await get("/v1/integrations/failures?status=nope")).statusCode).toBe(400);
    expect((await get("/v1/integrations/failures?cursor=abc")).statusCode).toBe(400);
  });

  it("a successful retry resolves the failure with what the handler wrote; a failing one bumps it", async () => {
    const ok = await fail({ source: "test-ok", subject: "ok-1" });
    const res = await post(`/v1/integrations/failures/${ok}/retry`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: "resolved",
      failure: { id: ok, status: "resolved", resolution: "retried" },
    });
    expect(await sideEffects("mark")).toContain(String(ok));
    expect((await post(`/v1/integrations/failures/${ok}/retry`)).statusCode).toBe(409); // resolved already

    const flaky = await fail({ source: "test-flaky", subject: "f-1" });
    const first = await post(`/v1/integrations/failures/${flaky}/retry`);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      outcome: "failed",
      failure: { status: "open", attempts: 2, error: "receiver still down" },
    });
    expect(await sideEffects("flaky")).toEqual([]); // the failed attempt's writes rolled back
    const second = await post(`/v1/integrations/failures/${flaky}/retry`);
    expect(second.json()).toMatchObject({ outcome: "resolved", failure: { status: "resolved" } });
    expect(await sideEffects("flaky")).toEqual([String(flaky)]);
  });

  it("a source without a handler is 409 with a clear detail and stays open; unknown id is 404", async () => {
    const id = await fail({ source: "nobody-handles-this", subject: "n-1" });
    const res = await post(`/v1/integrations/failures/${id}/retry`);
    expect(res.statusCode).toBe(409);
    expect(res.headers["content-type"]).toMatch(/problem\+json/);
    expect(res.json().detail).toMatch(/No retry handler for source "nobody-handles-this"/);
    const row = await db
      .selectFrom("integration_failures")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "open", attempts: 1 });
    expect((await post("/v1/integrations/failures/99999999/retry")).statusCode).toBe(404);
  });

  it("bulk retry takes every open failure matching the query, once per Idempotency-Key", async () => {
    const a = await fail({ source: "test-ok", channel: "bulk", subject: "b-1" });
    const b = await fail({ source: "test-ok", channel: "bulk", subject: "b-2" });
    const n = await fail({ source: "nobody", channel: "bulk", subject: "b-3" });
    await fail({ source: "test-ok", channel: "other", subject: "b-4" });
    calls.length = 0;
    const key = { "idempotency-key": "bulk-1" };
    const res = await post("/v1/integrations/failures/retry?channel=bulk", key);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ matched: 3, resolved: 2, failed: 0, no_handler: 1 });
    expect(calls.sort()).toEqual([a, b].sort());
    const again = await post("/v1/integrations/failures/retry?channel=bulk", key);
    expect(again.json()).toEqual(res.json());
    expect(calls.length).toBe(2); // the repeat ran nothing
    const open = (await get("/v1/integrations/failures?channel=bulk&status=open")).json().data;
    expect(open.map((f: { id: number }) => f.id)).toEqual([n]);
    const other = (await get("/v1/integrations/failures?channel=other&status=open")).json().data;
    expect(other).toHaveLength(1);
  });

  it("health sums open failures per source and channel and the last 24 h", async () => {
    await fail({ source: "health", channel: "h1", subject: "1" });
    await fail({ source: "health", channel: "h1", subject: "2" });
    const old = await fail({ source: "health", channel: "h2", subject: "3" });
    await db
      .updateTable("integration_failures")
      .set({ last_at: new Date(Date.now() - 48 * 3600_000), first_at: new Date(Date.now() - 48 * 3600_000) })
      .where("id", "=", old)
      .execute();
    const res = await get("/v1/integrations/health");
    expect(res.statusCode).toBe(200);
    const rows = res.json().data.filter((r: { source: string }) => r.source === "health");
    expect(rows).toMatchObject([
      { channel: "h1", open: 2, failures_24h: 2 },
      { channel: "h2", open: 1, failures_24h: 0 },
    ]);
    const all = await db.selectFrom("integration_failures").select(["status", "last_at"]).execute();
    expect(res.json().open).toBe(all.filter((r) => r.status === "open").length);
  });

  it("needs integrations:read / integrations:manage", async () => {
    expect((await app.inject({ method: "GET", url: "/v1/integrations/failures" })).statusCode).toBe(401);
    expect((await app.inject({ method: "POST", url: "/v1/integrations/failures/retry" })).statusCode).toBe(
      401,
    );
  });
});
