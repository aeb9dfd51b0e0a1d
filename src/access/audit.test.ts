import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { auditVerifyCommand } from "../cli/audit.js";
import { act, orderBody, place, settings } from "../orders/testing.js";
import { sealAudit, verifyAudit } from "./audit.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1, "DE");
  await product(t, ["TEE"]);
  await stock(t, "TEE", "EAST", 50);
  await settings(t, { auto_approve: false });
});
afterAll(() => t.close());

const count = async () =>
  Number((await sql<{ n: string }>`select count(*) as n from audit_log`.execute(t.db)).rows[0]?.n);

const sealAll = async () => {
  while ((await sealAudit(t.db, 7)) > 0) {}
};

describe("recording", () => {
  it("an order placed and approved through HTTP leaves rows with actor, action, entity and request id", async () => {
    const placed = await place(t, orderBody([{ sku: "TEE", quantity: 2 }]));
    const approved = await act(t, placed.number, "approve");
    expect(approved.status).toBe("approved");

    const trail = await ok(t, "GET", `/v1/audit?entity_type=orders&entity_id=${placed.id}`);
    expect(trail.data).toHaveLength(2);
    const [approve, create] = trail.data;
    expect(create).toMatchObject({
      actor: "api_key:test",
      actor_kind: "key",
      action: "POST /v1/orders",
      entity_type: "orders",
      entity_id: String(placed.id),
      ip: "127.0.0.1",
      after: { id: placed.id, status: "received" },
      approval_id: null,
    });
    // addressed by its number, recorded under its id
    expect(approve).toMatchObject({
      action: "POST /v1/orders/:id/approve",
      entity_id: String(placed.id),
      after: { id: placed.id, status: "approved" },
    });
    expect(create.request_id).toMatch(/\S/);
    expect(approve.request_id).not.toBe(create.request_id);
  });

  it("orders placed concurrently (batched placement) get one row each", async () => {
    const before = await count();
    const placed = await Promise.all(
      Array.from({ length: 20 }, () => place(t, orderBody([{ sku: "TEE", quantity: 1 }]))),
    );
    expect(await count()).toBe(before + 20);
    const rows = await sql<{ entity_id: string; action: string }>`
      select entity_id, action from audit_log order by id desc limit 20`.execute(t.db);
    expect(new Set(rows.rows.map((r) => r.entity_id))).toEqual(new Set(placed.map((o) => String(o.id))));
    expect(new Set(rows.rows.map((r) => r.action))).toEqual(new Set(["POST /v1/orders"]));
  });

  it("a PUT under a parent entity is filed under that entity", async () => {
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/channels/manual/stock-policy",
      headers: t.auth,
      payload: { buffer: 2 },
    });
    expect(res.statusCode).toBe(200);
    const trail = await ok(t, "GET", "/v1/audit?entity_type=channels&entity_id=manual");
    expect(trail.data).toMatchObject([
      { action: "PUT /v1/channels/:code/stock-policy", after: { channel: "manual", buffer: 2 } },
    ]);
  });

  it("a failed write leaves no audit row", async () => {
    const before = await count();
    const unknownSku = await api(t, "POST", "/v1/orders", orderBody([{ sku: "NOPE", quantity: 1 }]));
    expect(unknownSku.statusCode).toBe(422);
    const placed = await place(t, orderBody([{ sku: "TEE", quantity: 1 }]));
    await act(t, placed.id, "approve");
    const again = await api(t, "POST", `/v1/orders/${placed.id}/approve`, {});
    expect(again.statusCode).toBe(409);
    expect(await count()).toBe(before + 2);
  });

  it("an idempotent replay adds no row", async () => {
    const before = await count();
    const headers = { "idempotency-key": "audit-replay-1" };
    const body = { code: "WEST", name: "West", kind: "warehouse", priority: 2, country: "FR" };
    const first = await api(t, "POST", "/v1/locations", body, headers);
    const second = await api(t, "POST", "/v1/locations", body, headers);
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(await count()).toBe(before + 1);
  });

  it("filters by actor and time and pages with a cursor", async () => {
    const all = await ok(t, "GET", "/v1/audit?actor=api_key:test&limit=500");
    expect(all.data.length).toBe(await count());
    const page1 = await ok(t, "GET", "/v1/audit?limit=2");
    const page2 = await ok(t, "GET", `/v1/audit?limit=2&cursor=${page1.next_cursor}`);
    expect(page2.data[0].id).toBeLessThan(page1.data[1].id);
    const future = await ok(t, "GET", "/v1/audit?from=2999-01-01T00:00:00Z");
    expect(future.data).toEqual([]);
    expect((await ok(t, "GET", "/v1/audit?actor=someone-else")).data).toEqual([]);
  });
});

describe("append-only", () => {
  it("the database refuses UPDATE, DELETE and TRUNCATE of audit_log and audit_seals", async () => {
    await sealAll();
    for (const stmt of [
      sql`update audit_log set actor = 'mallory'`,
      sql`delete from audit_log`,
      sql`truncate audit_log cascade`,
      sql`update audit_seals set hash = '\\x00'`,
      sql`delete from audit_seals`,
      sql`truncate audit_seals`,
    ]) {
      await expect(stmt.execute(t.db)).rejects.toThrow(/append-only/);
    }
  });
});

describe("the hash chain", () => {
  it("verifies, and names the first row altered behind the triggers' back", async () => {
    await sealAll();
    await sealAll();
    await location(t, "NORTH", 3, "DK");
    expect(await verifyAudit(t.db)).toMatchObject({ ok: true, unsealed: 1 });
    await sealAll();
    const good = await verifyAudit(t.db, 3);
    expect(good).toEqual({ ok: true, verified: await count(), unsealed: 0 });
    expect(good.ok && good.verified).toBeGreaterThan(5);

    const victim = Number(
      (await sql<{ id: string }>`select id from audit_log order by id offset 2 limit 1`.execute(t.db)).rows[0]
        ?.id,
    );
    await sql`alter table audit_log disable trigger audit_log_no_change`.execute(t.db);
    try {
      await sql`update audit_log set actor = 'mallory' where id = ${victim}`.execute(t.db);
    } finally {
      await sql`alter table audit_log enable trigger audit_log_no_change`.execute(t.db);
    }
    const bad = await verifyAudit(t.db, 3);
    expect(bad).toMatchObject({ ok: false, verified: 2, firstBad: { id: victim, seq: 3 } });

    // the CLI command names it and exits 1
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof process.stdout.write;
    let code: number;
    try {
      code = await auditVerifyCommand(t.db);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(1);
    expect(out.join("")).toContain(`audit row ${victim} (seal 3)`);
  });
});
