import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { expectLedgerConsistent, level, location, ok } from "../../test/shop.js";
import { expireApprovals } from "./decisions.js";
import { type As, as, auditActions, held, keyWith, policies } from "./testing.js";

/** The approval machinery, shown on stock adjustments above a value at cost. */

let t: TestContext;
let requester: As;
let approver: As;
let others: As[];
let purchasing: As;
let warehouse: As;
let sku = 0;

beforeAll(async () => {
  t = await testApp();
  await location(t, "AP-MAIN", 1);
  requester = await keyWith(t, ["inventory_control"]);
  approver = await keyWith(t, ["inventory_control"]);
  others = [await keyWith(t, ["inventory_control"]), await keyWith(t, ["ops_manager"])];
  purchasing = await keyWith(t, ["purchasing"]);
  warehouse = await keyWith(t, ["warehouse"]);
  // 1000 minor units a unit at cost: more than 10 units is more than 10000
  await policies(t, { stock_adjustment: { enabled: true, threshold: 10_000 } });
});
afterAll(async () => {
  await expectLedgerConsistent(t);
  await t.close();
});

async function costedSku(onHand: number): Promise<string> {
  sku += 1;
  const code = `AP-${sku}`;
  await ok(
    t,
    "POST",
    "/v1/products",
    {
      title: code,
      kind: "physical",
      status: "active",
      variants: [{ sku: code, price: 2500, currency: "EUR", cost: 1000 }],
    },
    201,
  );
  if (onHand > 0) {
    await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: code, location: "AP-MAIN", delta: 10, reason: "initial" },
      201,
    );
    if (onHand !== 10) {
      // the admin key's own policy-free path: a small delta at a time stays under the threshold
      for (let left = onHand - 10; left !== 0; ) {
        const step = Math.max(-10, Math.min(10, left));
        await ok(
          t,
          "POST",
          "/v1/inventory/adjustments",
          { sku: code, location: "AP-MAIN", delta: step, reason: "initial" },
          201,
        );
        left -= step;
      }
    }
  }
  return code;
}

const onHand = async (code: string) => (await level(t, code, "AP-MAIN"))?.on_hand ?? 0;
const adjust = (who: As | null, code: string, change: Record<string, number>) =>
  as(t, who, "POST", "/v1/inventory/adjustments", {
    sku: code,
    location: "AP-MAIN",
    reason: "correction",
    ...change,
  });
const decide = (who: As | null, id: number, decision: "approve" | "reject", body?: unknown) =>
  as(t, who, "POST", `/v1/approvals/${id}/${decision}`, body);

describe("four-eyes approvals", () => {
  it("lets a write under the threshold through, and holds one above it: 202, changed nothing", async () => {
    const code = await costedSku(20);
    expect((await adjust(requester, code, { delta: -10 })).statusCode).toBe(201);
    expect(await onHand(code)).toBe(10);
    const movementsBefore = (await ok(t, "GET", `/v1/inventory/movements?sku=${code}`)).data.length;

    const approval = held(await adjust(requester, code, { delta: 11 }));
    expect(approval).toMatchObject({ status: "pending", kind: "stock_adjustment" });
    expect(approval.summary).toContain("11 units worth 11000 at cost");
    expect(Date.parse(approval.expires_at)).toBeGreaterThan(Date.now() + 71 * 3600_000);
    expect(await onHand(code)).toBe(10);
    expect((await ok(t, "GET", `/v1/inventory/movements?sku=${code}`)).data.length).toBe(movementsBefore);
    expect(await auditActions(t, approval.id)).toEqual(["approval.request"]);

    const read = await as(t, approver, "GET", `/v1/approvals/${approval.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      status: "pending",
      requested_by: `api_key:${requester.name}`,
      approver_permission: "inventory:adjust",
      payload: { sku: code, delta: 11 },
      facts: { units: 11, value: 11_000, threshold: 10_000 },
    });
  });

  it("refuses the requester (403 approval_own_request) and principals without the permission", async () => {
    const code = await costedSku(0);
    const approval = held(await adjust(requester, code, { delta: 50 }));
    const own = await decide(requester, approval.id, "approve");
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe("approval_own_request");
    expect((await decide(requester, approval.id, "reject")).json().code).toBe("approval_own_request");
    // approvals:read but not inventory:adjust
    const noPermission = await decide(purchasing, approval.id, "approve");
    expect(noPermission.statusCode).toBe(403);
    expect(noPermission.json()).toMatchObject({ code: "forbidden" });
    expect(noPermission.json().detail).toContain("inventory:adjust");
    // inventory:adjust but no approvals:read: the route itself refuses
    expect((await decide(warehouse, approval.id, "approve")).json().code).toBe("forbidden");
    expect((await as(t, warehouse, "GET", "/v1/approvals")).statusCode).toBe(403);
    expect(await onHand(code)).toBe(0);
    expect((await as(t, approver, "GET", `/v1/approvals/${approval.id}`)).json().status).toBe("pending");
  });

  it("runs the write once on approval, audited with the approval; a second decision is 409", async () => {
    const code = await costedSku(0);
    const approval = held(await adjust(requester, code, { delta: 30 }));
    const res = await decide(approver, approval.id, "approve", { reason: "delivery booked late" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      approval: {
        status: "executed",
        decided_by: `api_key:${approver.name}`,
        reason: "delivery booked late",
      },
      result: {
        status: 201,
        body: { movements: [{ sku: code, delta: 30, actor: `api_key:${requester.name}` }] },
      },
    });
    expect(await onHand(code)).toBe(30);
    const again = await decide(others[0] as As, approval.id, "approve");
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: "approval_not_pending", approval: { status: "executed" } });
    expect(await onHand(code)).toBe(30);
    expect(await auditActions(t, approval.id)).toEqual([
      "approval.request",
      "approval.approve",
      "POST /v1/inventory/adjustments",
    ]);
    const row = await t.db
      .selectFrom("audit_log")
      .select(["actor", "entity_type", "entity_id"])
      .where("approval_id", "=", approval.id)
      .where("action", "=", "POST /v1/inventory/adjustments")
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      actor: `api_key:${requester.name}`,
      entity_type: "inventory",
      entity_id: `${code}@AP-MAIN`,
    });
  });

  it("executes exactly once when several approvers race", async () => {
    const code = await costedSku(0);
    const approval = held(await adjust(requester, code, { delta: 40 }));
    const racers = [approver, ...others, approver, ...others];
    const answers = await Promise.all(racers.map((who) => decide(who, approval.id, "approve")));
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes).toEqual([200, 409, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.statusCode === 409))
      expect(a.json().code).toBe("approval_not_pending");
    expect(await onHand(code)).toBe(40);
    const movements = await ok(t, "GET", `/v1/inventory/movements?sku=${code}`);
    expect(movements.data.map((m: { delta: number }) => m.delta)).toEqual([40]);
    const decisions = await sql<{ n: number }>`select count(*)::int as n from approval_decisions
      where approval_id = ${approval.id}`.execute(t.db);
    expect(decisions.rows[0]?.n).toBe(1);
  });

  it("fails a stale request cleanly: the bucket moved since a `set` was asked for", async () => {
    const code = await costedSku(20);
    const approval = held(await adjust(requester, code, { set: 0 }));
    expect(approval.summary).toContain("to 0 (now 20)");
    // meanwhile two units are sold or found: a set to 0 would now mean something else
    expect((await adjust(null, code, { delta: -2 })).statusCode).toBe(201);
    const res = await decide(approver, approval.id, "approve");
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: "approval_failed",
      approval: { status: "failed", failure: { code: "approval_stale" } },
    });
    expect(await onHand(code)).toBe(18);
    expect((await as(t, approver, "GET", `/v1/approvals/${approval.id}`)).json()).toMatchObject({
      status: "failed",
      failure: { code: "approval_stale", status: 409 },
    });
    expect(await auditActions(t, approval.id)).toEqual([
      "approval.request",
      "approval.approve",
      "approval.fail",
    ]);
    expect((await decide(others[0] as As, approval.id, "approve")).json().code).toBe("approval_not_pending");
  });

  it("fails when the write's own checks refuse it now (not enough on hand any more)", async () => {
    const code = await costedSku(20);
    const approval = held(await adjust(requester, code, { delta: -15 }));
    for (let i = 0; i < 2; i++) expect((await adjust(null, code, { delta: -5 })).statusCode).toBe(201);
    const res = await decide(approver, approval.id, "approve");
    expect(res.statusCode).toBe(409);
    expect(res.json().approval).toMatchObject({ status: "failed" });
    expect(res.json().failure.code).not.toBe("approval_stale");
    expect(await onHand(code)).toBe(10);
  });

  it("fails when the requester lost the permission meanwhile: an approval lends eyes, not rights", async () => {
    const code = await costedSku(0);
    const leaver = await keyWith(t, ["inventory_control"]);
    const approval = held(await adjust(leaver, code, { delta: 21 }));
    await sql`update api_keys set revoked_at = now() where name = ${leaver.name}`.execute(t.db);
    const res = await decide(approver, approval.id, "approve");
    expect(res.statusCode).toBe(409);
    expect(res.json().failure.code).toBe("approval_requester_lost_permission");
    expect(await onHand(code)).toBe(0);
  });

  it("a retried held write with its Idempotency-Key gets the same approval, not a second one", async () => {
    const code = await costedSku(0);
    const send = () =>
      t.app.inject({
        method: "POST",
        url: "/v1/inventory/adjustments",
        headers: { ...requester.headers, "idempotency-key": `hold-${code}` },
        payload: { sku: code, location: "AP-MAIN", delta: 22, reason: "correction" },
      });
    const first = held(await send());
    const again = await send();
    expect(again.statusCode).toBe(202);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json().approval.id).toBe(first.id);
    const n = await sql<{ n: number }>`select count(*)::int as n from approvals
      where payload->>'sku' = ${code}`.execute(t.db);
    expect(n.rows[0]?.n).toBe(1);
  });

  it("rejects: nothing is written, and it cannot be approved afterwards", async () => {
    const code = await costedSku(0);
    const approval = held(await adjust(requester, code, { delta: 12 }));
    const res = await decide(approver, approval.id, "reject", { reason: "no delivery note" });
    expect(res.statusCode).toBe(200);
    expect(res.json().approval).toMatchObject({ status: "rejected", reason: "no delivery note" });
    expect((await decide(others[0] as As, approval.id, "approve")).statusCode).toBe(409);
    expect(await onHand(code)).toBe(0);
    expect(await auditActions(t, approval.id)).toEqual(["approval.request", "approval.reject"]);
  });

  it("expires requests: the job marks them, and an overdue one cannot be approved", async () => {
    const code = await costedSku(0);
    const a = held(await adjust(requester, code, { delta: 13 }));
    const b = held(await adjust(requester, code, { delta: 14 }));
    await sql`update approvals set requested_at = now() - interval '3 hours', expires_at = now() - interval '1 hour'
              where id in (${a.id}, ${b.id})`.execute(t.db);
    const late = await decide(approver, b.id, "approve");
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: "approval_expired", approval: { status: "expired" } });
    expect(await expireApprovals(t.db)).toBeGreaterThanOrEqual(1);
    expect((await as(t, approver, "GET", `/v1/approvals/${a.id}`)).json().status).toBe("expired");
    expect(await auditActions(t, a.id)).toEqual(["approval.request", "approval.expire"]);
    expect(await auditActions(t, b.id)).toEqual(["approval.request", "approval.expire"]);
    expect(await expireApprovals(t.db)).toBe(0);
    expect(await onHand(code)).toBe(0);
  });

  it("lists by status and kind, newest first, with a cursor", async () => {
    const code = await costedSku(0);
    const ids = [];
    for (const d of [15, 16, 17]) ids.push(held(await adjust(requester, code, { delta: d })).id);
    const page = await as(t, approver, "GET", "/v1/approvals?status=pending&kind=stock_adjustment&limit=2");
    expect(page.statusCode).toBe(200);
    expect(page.json().data.map((a: { id: number }) => a.id)).toEqual([ids[2], ids[1]]);
    const next = await as(
      t,
      approver,
      "GET",
      `/v1/approvals?status=pending&limit=2&cursor=${page.json().next_cursor}`,
    );
    expect(next.json().data[0].id).toBe(ids[0]);
    const none = await as(t, approver, "GET", "/v1/approvals?kind=refund");
    expect(none.json().data).toEqual([]);
    expect((await as(t, approver, "GET", "/v1/approvals?status=nope")).statusCode).toBe(400);
    expect((await as(t, approver, "GET", "/v1/approvals/99999999")).statusCode).toBe(404);
  });

  it("keeps its invariants in the database: decided once, never by the requester", async () => {
    const code = await costedSku(0);
    const approval = held(await adjust(requester, code, { delta: 18 }));
    await expect(
      sql`insert into approval_decisions (approval_id, requested_by, decided_by, decision)
          values (${approval.id}, 'key:1', 'key:1', 'approve')`.execute(t.db),
    ).rejects.toThrow(/check/);
    await decide(approver, approval.id, "reject");
    await expect(
      sql`update approvals set status = 'pending', decided_at = null where id = ${approval.id}`.execute(t.db),
    ).rejects.toThrow(/cannot change again/);
  });

  it("PUT /v1/settings/approvals validates and merges; a policy switched off lets writes through", async () => {
    const bad = await as(t, null, "PUT", "/v1/settings/approvals", {
      policies: { stock_adjustment: { approver_permission: "inventory:everything" } },
    });
    expect(bad.statusCode).toBe(400);
    expect(
      (await as(t, requester, "PUT", "/v1/settings/approvals", { expires_after_hours: 2 })).statusCode,
    ).toBe(403);
    const off = await policies(t, { stock_adjustment: { enabled: false } });
    expect(off.policies.stock_adjustment).toEqual({
      enabled: false,
      threshold: 10_000,
      approver_permission: null,
    });
    const code = await costedSku(0);
    expect((await adjust(requester, code, { delta: 100 })).statusCode).toBe(201);
    await policies(t, { stock_adjustment: { enabled: true } });
    held(await adjust(requester, code, { delta: 100 }));
  });
});
