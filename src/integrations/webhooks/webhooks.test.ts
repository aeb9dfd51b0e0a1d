import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../../test/helpers.js";
import { createDb, type DB } from "../../db/pool.js";
import { inTransaction } from "../../db/tx.js";
import { emit } from "../../events/outbox.js";
import { type App, buildApp } from "../../http/app.js";
import { createApiKey } from "../../http/auth.js";
import { sign, verify } from "./signature.js";

interface Received {
  eventId: number;
  type: string;
  body: { id: number; type: string; created_at: string; data: unknown };
  signed: boolean;
  status: number;
}

/** A receiver per path: checks the signature as docs/integrations.md says, fails the first `fail` requests. */
const paths = new Map<string, { secret: string; fail: number; received: Received[] }>();
let receiver: Server;
let base: string;
let app: App;
let db: DB;
let drop: () => Promise<void>;
let auth: { authorization: string };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const p = paths.get(req.url ?? "");
      if (!p) return res.writeHead(404).end();
      const [t, v1] = String(req.headers["keel-signature"])
        .split(",")
        .map((kv) => kv.split("=")[1]);
      const mac = createHmac("sha256", p.secret).update(`${t}.${raw}`).digest("hex");
      const signed = mac === v1 && Math.abs(Date.now() / 1000 - Number(t)) < 300;
      const status = p.fail > 0 ? 500 : 200;
      if (p.fail > 0) p.fail--;
      p.received.push({
        eventId: Number(req.headers["keel-event-id"]),
        type: String(req.headers["keel-event-type"]),
        body: JSON.parse(raw),
        signed,
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const addr = receiver.address();
  base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;

  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 10);
  app = await buildApp({
    db,
    dispatch: {
      intervalMs: 20,
      webhooks: { schedule: { baseMs: 40, capMs: 120, maxAttempts: 5, jitter: 0.1 } },
    },
  });
  await app.ready();
  auth = { authorization: `Bearer ${(await createApiKey(db, "test")).key}` };
  // a new consumer starts at "now" on its first tick: events emitted before it would (rightly) be skipped,
  // so on a loaded machine the tests wait for that first tick instead of racing it
  await until(async () =>
    Boolean(
      await db
        .selectFrom("outbox_cursors")
        .select("consumer")
        .where("consumer", "=", "webhooks")
        .executeTakeFirst(),
    ),
  );
});
afterAll(async () => {
  await app.close();
  await db.destroy();
  await drop();
  await new Promise((r) => receiver.close(r));
});

async function subscribe(path: string, events: string[], opts: { secret?: string; fail?: number } = {}) {
  const res = await app.inject({
    method: "POST",
    url: "/v1/webhook-subscriptions",
    headers: auth,
    payload: { url: `${base}${path}`, events, ...(opts.secret ? { secret: opts.secret } : {}) },
  });
  expect(res.statusCode).toBe(201);
  const sub = res.json() as { id: number; secret: string; status: string };
  paths.set(path, { secret: sub.secret, fail: opts.fail ?? 0, received: [] });
  return sub;
}

async function emitEach(types: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, type] of types.entries()) {
    await inTransaction(db, (tx) => emit(tx, [{ type, payload: { n: i } }]));
    const row = await db
      .selectFrom("outbox_events")
      .select("id")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    ids.push(row.id);
  }
  return ids;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const get = (url: string) => app.inject({ method: "GET", url, headers: auth });
const ok = (path: string) => paths.get(path)?.received.filter((r) => r.status === 200) ?? [];

describe("outbound webhooks", () => {
  it("delivers every matching event once, signed, in order per subscription, retrying a failing receiver", async () => {
    const a = await subscribe("/a", ["test.*"], { fail: 3 });
    const b = await subscribe("/b", ["test.b"], { secret: "a-secret-given-by-the-shop" });
    expect(a.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(b.secret).toBe("a-secret-given-by-the-shop");
    const ids = await emitEach([
      "test.a",
      "test.b",
      "test.a",
      "test.b",
      "test.a",
      "other.x",
      "test.b",
      "test.a",
    ]);
    const testIds = ids.filter((_, i) => i !== 5);
    const bIds = [ids[1], ids[3], ids[6]];
    await until(() => ok("/a").length === testIds.length && ok("/b").length === bIds.length);
    await new Promise((r) => setTimeout(r, 200)); // and nothing more arrives

    const ra = paths.get("/a")?.received ?? [];
    // the first event was tried 4 times before anything after it was sent
    expect(ra.map((r) => r.eventId)).toEqual([testIds[0], testIds[0], testIds[0], ...testIds]);
    expect(ra.map((r) => r.status)).toEqual([500, 500, 500, 200, ...testIds.slice(1).map(() => 200)]);
    expect(ok("/b").map((r) => r.eventId)).toEqual(bIds);
    for (const r of [...ra, ...ok("/b")]) {
      expect(r.signed).toBe(true);
      expect(r.body.id).toBe(r.eventId);
      expect(r.body.type).toBe(r.type);
      expect(r.body.data).toMatchObject({ n: expect.any(Number) });
    }

    const log = await get(`/v1/webhook-subscriptions/${a.id}/deliveries`);
    expect(log.statusCode).toBe(200);
    const rows = log.json().data as Array<Record<string, unknown>>;
    expect(rows.map((d) => d.event_id)).toEqual([...testIds].reverse());
    expect(rows[rows.length - 1]).toMatchObject({
      status: "delivered",
      attempt: 4,
      status_code: 200,
      error: null,
    });
    expect(rows[rows.length - 1].latency_ms).toEqual(expect.any(Number));
    expect(rows.every((d) => d.status === "delivered" && d.next_attempt_at === null)).toBe(true);

    const one = await get(`/v1/webhook-subscriptions/${a.id}`);
    expect(one.json()).toMatchObject({ id: a.id, status: "active", events: ["test.*"] });
    expect(one.json().secret).toBeUndefined();
    expect(JSON.stringify((await get("/v1/webhook-subscriptions")).json())).not.toContain(a.secret);
  });

  it("replays a time range of a subscription's events, in event order, behind what is pending", async () => {
    const sub = await subscribe("/range", ["range.*"]);
    const t0 = new Date(Date.now() - 1000).toISOString();
    const first = await emitEach(["range.a", "range.b"]);
    await until(() => ok("/range").length === 2);
    const t1 = (
      await db
        .selectFrom("outbox_events")
        .select("created_at")
        .where("id", "=", first[1])
        .executeTakeFirstOrThrow()
    ).created_at;
    const later = await emitEach(["range.c"]);
    await until(() => ok("/range").length === 3);

    const replay = (from: string, to: string, id = sub.id) =>
      app.inject({
        method: "POST",
        url: `/v1/webhook-subscriptions/${id}/replay`,
        headers: auth,
        payload: { from, to },
      });
    // [t0, t1 + 1 ms): the first two, not the third
    const res = await replay(t0, new Date(new Date(t1).getTime() + 1).toISOString());
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ replayed: 2, first_event_id: first[0], last_event_id: first[1] });
    await until(() => ok("/range").length === 5);
    expect(ok("/range").map((r) => r.eventId)).toEqual([...first, ...later, ...first]);
    const log = (await get(`/v1/webhook-subscriptions/${sub.id}/deliveries`)).json().data;
    expect(log.filter((d: { replay_of: number | null }) => d.replay_of !== null)).toHaveLength(2);

    // a range where to is not after from, and an unknown subscription: nothing queued
    expect((await replay(t0, t0)).statusCode).toBe(422);
    expect((await replay(t0, new Date().toISOString(), 999_999)).statusCode).toBe(404);
    const empty = await replay("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z");
    expect(empty.json()).toEqual({ replayed: 0, first_event_id: null, last_event_id: null });
    expect((await get(`/v1/webhook-subscriptions/${sub.id}/deliveries`)).json().data).toHaveLength(5);
  });

  it("dead-letters after the schedule, marks the subscription failing, and a replay that succeeds heals it", async () => {
    const sub = await subscribe("/dead", ["dead.*"], { fail: 1_000 });
    const [first, second] = await emitEach(["dead.one", "dead.two"]);
    const deliveries = async () =>
      (await get(`/v1/webhook-subscriptions/${sub.id}/deliveries`)).json().data as Array<
        Record<string, unknown>
      >;
    await until(
      async () => (await deliveries()).every((d) => d.status === "dead") && (await deliveries()).length === 2,
    );
    const dead = await deliveries();
    expect(dead.map((d) => [d.event_id, d.attempt, d.status_code, d.error])).toEqual([
      [second, 5, 500, "HTTP 500"],
      [first, 5, 500, "HTTP 500"],
    ]);
    expect(paths.get("/dead")?.received.map((r) => r.eventId)).toEqual([
      ...Array(5).fill(first),
      ...Array(5).fill(second),
    ]);
    expect((await get(`/v1/webhook-subscriptions/${sub.id}`)).json().status).toBe("failing");
    const failure = () =>
      db
        .selectFrom("integration_failures")
        .selectAll()
        .where("subject", "=", `sub:${sub.id}`)
        .executeTakeFirstOrThrow();
    expect(await failure()).toMatchObject({
      source: "webhook",
      operation: "deliver",
      status: "open",
      attempts: 2,
    });

    const p = paths.get("/dead");
    if (p) p.fail = 0;
    const replay = await app.inject({
      method: "POST",
      url: `/v1/webhook-deliveries/${dead[1].id}/replay`,
      headers: auth,
    });
    expect(replay.statusCode).toBe(201);
    expect(replay.json()).toMatchObject({
      event_id: first,
      status: "pending",
      replay_of: dead[1].id,
      attempt: 0,
    });
    await until(() => ok("/dead").length === 1);
    expect(ok("/dead")[0]).toMatchObject({ eventId: first, signed: true });
    await until(async () => (await get(`/v1/webhook-subscriptions/${sub.id}`)).json().status === "active");
    expect(await failure()).toMatchObject({ status: "resolved", resolution: "succeeded" });
  });

  it("retrying its integration failure sends the dead deliveries again, in event order", async () => {
    const sub = await subscribe("/retry", ["retry.*"], { fail: 1_000 });
    const [first, second] = await emitEach(["retry.one", "retry.two"]);
    const deliveries = async () =>
      (await get(`/v1/webhook-subscriptions/${sub.id}/deliveries`)).json().data as Array<{ status: string }>;
    await until(async () => {
      const d = await deliveries();
      return d.length === 2 && d.every((x) => x.status === "dead");
    });
    const failure = await db
      .selectFrom("integration_failures")
      .select("id")
      .where("subject", "=", `sub:${sub.id}`)
      .where("status", "=", "open")
      .executeTakeFirstOrThrow();
    const p = paths.get("/retry");
    if (p) p.fail = 0;
    const retry = await app.inject({
      method: "POST",
      url: `/v1/integrations/failures/${failure.id}/retry`,
      headers: auth,
    });
    expect(retry.statusCode, retry.body).toBe(200);
    await until(() => ok("/retry").length === 2);
    expect(ok("/retry").map((r) => r.eventId)).toEqual([first, second]);
    await until(async () => (await get(`/v1/webhook-subscriptions/${sub.id}`)).json().status === "active");
    // a second retry of the same (now resolved) failure queues nothing more
    const again = await app.inject({
      method: "POST",
      url: `/v1/integrations/failures/${failure.id}/retry`,
      headers: auth,
    });
    expect(again.statusCode).toBe(409);
  });

  it("signs as documented: verify accepts the signature and refuses a changed body, another secret or an old t", () => {
    const body = JSON.stringify({
      id: 1,
      type: "order.placed",
      created_at: "2026-01-01T00:00:00.000Z",
      data: {},
    });
    const now = Math.floor(Date.now() / 1000);
    const header = sign("s3cret", body, now);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verify("s3cret", header, body, 300)).toBe(true);
    expect(verify("s3cret", header, `${body} `, 300)).toBe(false);
    expect(verify("other", header, body, 300)).toBe(false);
    expect(verify("s3cret", sign("s3cret", body, now - 301), body, 300)).toBe(false);
    expect(verify("s3cret", "garbage", body, 300)).toBe(false);
  });

  it("refuses bad input with problem+json and changes nothing; unknown ids are 404", async () => {
    const count = async () =>
      Number(
        (
          await db
            .selectFrom("webhook_subscriptions")
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    for (const payload of [
      { url: "ftp://example.com/x", events: ["order.*"] },
      { url: "not a url", events: ["order.*"] },
      { url: `${base}/x`, events: [] },
      { url: `${base}/x`, events: ["Order Placed"] },
      { url: `${base}/x`, events: ["order.*"], secret: "short" },
      { url: `${base}/x`, events: ["order.*"], extra: 1 },
      { events: ["order.*"] },
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/v1/webhook-subscriptions",
        headers: auth,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json().code).toBe("validation_failed");
    }
    expect(await count()).toBe(before);
    expect((await get("/v1/webhook-subscriptions/abc")).statusCode).toBe(400);
    expect((await get("/v1/webhook-subscriptions/999999")).statusCode).toBe(404);
    expect((await get("/v1/webhook-subscriptions/999999/deliveries")).statusCode).toBe(404);
    const replay = await app.inject({
      method: "POST",
      url: "/v1/webhook-deliveries/999999/replay",
      headers: auth,
    });
    expect(replay.statusCode).toBe(404);
    const del = await app.inject({
      method: "DELETE",
      url: "/v1/webhook-subscriptions/999999",
      headers: auth,
    });
    expect(del.statusCode).toBe(404);
    expect(await count()).toBe(before);
  });

  it("deletes a subscription: 204, then 404, and nothing more is sent to it", async () => {
    const sub = await subscribe("/gone", ["gone.*"]);
    const del = await app.inject({
      method: "DELETE",
      url: `/v1/webhook-subscriptions/${sub.id}`,
      headers: auth,
    });
    expect(del.statusCode).toBe(204);
    expect((await get(`/v1/webhook-subscriptions/${sub.id}`)).statusCode).toBe(404);
    await emitEach(["gone.x"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(paths.get("/gone")?.received).toEqual([]);
  });

  it("is in the OpenAPI document with its permissions and errors", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
    const create = doc.paths["/v1/webhook-subscriptions"].post;
    expect(create["x-permission"]).toBe("integrations:manage");
    expect(create.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "400", "422"]));
    expect(doc.paths["/v1/webhook-subscriptions/{id}/deliveries"].get["x-permission"]).toBe(
      "integrations:read",
    );
    expect(doc.paths["/v1/webhook-deliveries/{id}/replay"].post.responses["404"]).toBeDefined();
  });
});
