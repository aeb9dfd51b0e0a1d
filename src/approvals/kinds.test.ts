import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { expectLedgerConsistent, level, location, ok } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import { type As, as, auditActions, held, keyWith, policies } from "./testing.js";

/** Each policy kind held back, approved by the right principal, and (where state can move) failed as stale. */

let t: TestContext;
let support: As;
let finance: As;
let purchasing: As;
let purchasing2: As;
let counter: As;
let counter2: As;
let admin2: As;

beforeAll(async () => {
  t = await testApp();
  await location(t, "K-MAIN", 1);
  for (const sku of ["K-SHIRT", "K-BOOT"]) {
    await ok(
      t,
      "POST",
      "/v1/products",
      {
        title: sku,
        kind: "physical",
        status: "active",
        variants: [{ sku, price: 5000, currency: "EUR", cost: 1000 }],
      },
      201,
    );
    await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku, location: "K-MAIN", set: 100, reason: "initial" },
      201,
    );
  }
  await ok(t, "POST", "/v1/suppliers", { code: "K-ACME", name: "Acme", lead_time_days: 5 }, 201);
  await ok(t, "POST", "/v1/suppliers/K-ACME/items", { sku: "K-SHIRT", cost: 1000 }, 201);
  support = await keyWith(t, ["support"]);
  finance = await keyWith(t, ["finance"]);
  purchasing = await keyWith(t, ["purchasing"]);
  purchasing2 = await keyWith(t, ["purchasing"]);
  counter = await keyWith(t, ["inventory_control"]);
  counter2 = await keyWith(t, ["inventory_control"]);
  admin2 = await keyWith(t, ["admin"]);
  await policies(t, {
    paid_order_cancel: { enabled: true },
    fraud_hold_release: { enabled: true },
    refund: { enabled: true, threshold: 5000 },
    purchase_order: { enabled: true, threshold: 20_000 },
    count_variance: { enabled: true, threshold: 10_000 },
    admin_grant: { enabled: true },
  });
});
afterAll(async () => {
  await expectLedgerConsistent(t);
  await t.close();
});

const approve = (who: As, id: number) => as(t, who, "POST", `/v1/approvals/${id}/approve`);
const orderOf = (id: number) => ok(t, "GET", `/v1/orders/${id}`);

async function paidOrder(quantity = 1) {
  const body = orderBody([{ sku: "K-SHIRT", quantity, unit_price: 5000 }]);
  return place(t, { ...body, payment: { status: "paid", amount: 5000 * quantity } });
}

describe("approval kinds", () => {
  it("cancelling a paid order waits for a second person; an unpaid one cancels at once", async () => {
    const unpaid = await place(t, orderBody([{ sku: "K-SHIRT", quantity: 1 }]));
    expect(
      (await as(t, support, "POST", `/v1/orders/${unpaid.id}/cancel`, { reason: "asked" })).statusCode,
    ).toBe(200);

    const o = await paidOrder(2);
    const approval = held(
      await as(t, support, "POST", `/v1/orders/${o.id}/cancel`, { reason: "customer asked" }),
    );
    expect(approval.kind).toBe("paid_order_cancel");
    expect((await orderOf(o.id)).status).toBe(o.status);
    const held2 = await level(t, "K-SHIRT", "K-MAIN");
    expect((held2?.reserved ?? 0) + (held2?.allocated ?? 0)).toBeGreaterThanOrEqual(2);
    expect((await approve(support, approval.id)).json().code).toBe("approval_own_request");
    const res = await approve(finance, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().result).toMatchObject({ status: 200, body: { id: o.id, status: "cancelled" } });
    expect((await orderOf(o.id)).status).toBe("cancelled");
    expect(await auditActions(t, approval.id)).toEqual([
      "approval.request",
      "approval.approve",
      "POST /v1/orders/:id/cancel",
    ]);
  });

  it("a paid-order cancel goes stale when the order changed since (held meanwhile)", async () => {
    const o = await paidOrder();
    const approval = held(await as(t, support, "POST", `/v1/orders/${o.id}/cancel`, { reason: "asked" }));
    await ok(t, "POST", `/v1/orders/${o.id}/hold`, { reason: "address check", code: "address" });
    const res = await approve(finance, approval.id);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: "approval_failed", failure: { code: "approval_stale" } });
    expect((await orderOf(o.id)).status).toBe("on_hold");
  });

  it("releasing a fraud hold waits; releasing another hold does not", async () => {
    const o = await place(t, orderBody([{ sku: "K-BOOT", quantity: 1 }]));
    await ok(t, "POST", `/v1/orders/${o.id}/hold`, { reason: "looks odd", code: "fraud" });
    const approval = held(await as(t, support, "POST", `/v1/orders/${o.id}/release`, {}));
    expect(approval.kind).toBe("fraud_hold_release");
    expect(approval.summary).toContain("looks odd");
    expect((await orderOf(o.id)).status).toBe("on_hold");
    const res = await approve(finance, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    expect((await orderOf(o.id)).status).not.toBe("on_hold");

    const other = await place(t, orderBody([{ sku: "K-BOOT", quantity: 1 }]));
    await ok(t, "POST", `/v1/orders/${other.id}/hold`, { reason: "call first", code: "manual" });
    expect((await as(t, support, "POST", `/v1/orders/${other.id}/release`, {})).statusCode).toBe(200);
  });

  it("refunds above the amount wait for refund:approve, and go stale when another refund came first", async () => {
    const o = await paidOrder(3);
    const f = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    for (const step of ["pick", "pack"]) await ok(t, "POST", `/v1/fulfillments/${f.id}/${step}`);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "DHL", tracking_number: `K${o.id}` });
    const r = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: o.id, lines: [{ sku: "K-SHIRT", quantity: 3, reason: "no_longer_needed" }] },
      201,
    );
    await ok(t, "POST", `/v1/returns/${r.id}/authorize`);
    expect((await as(t, support, "POST", `/v1/returns/${r.id}/refund`, { amount: 1000 })).statusCode).toBe(
      200,
    );
    const big = held(await as(t, support, "POST", `/v1/returns/${r.id}/refund`, { amount: 6000 }));
    expect(big.kind).toBe("refund");
    expect((await ok(t, "GET", `/v1/returns/${r.id}`)).refunded).toBe(1000);
    const res = await approve(finance, big.id);
    expect(res.statusCode, res.body).toBe(200);
    expect((await ok(t, "GET", `/v1/returns/${r.id}`)).refunded).toBe(7000);

    const stale = held(await as(t, support, "POST", `/v1/returns/${r.id}/refund`, { amount: 8000 }));
    await as(t, support, "POST", `/v1/returns/${r.id}/refund`, { amount: 500 });
    const late = await approve(finance, stale.id);
    expect(late.json()).toMatchObject({ code: "approval_failed", failure: { code: "approval_stale" } });
    expect((await ok(t, "GET", `/v1/returns/${r.id}`)).refunded).toBe(7500);
  });

  it("a refund recorded straight on the order is held the same way; other payment events are not", async () => {
    const o = await place(t, orderBody([{ sku: "K-BOOT", quantity: 2, unit_price: 5000 }]));
    const pay = await as(t, support, "POST", `/v1/orders/${o.id}/payments`, {
      status: "paid",
      amount: 10_000,
    });
    expect(pay.statusCode).toBe(201);
    const approval = held(
      await as(t, support, "POST", `/v1/orders/${o.id}/payments`, { status: "refunded", amount: 10_000 }),
    );
    expect(approval.kind).toBe("refund");
    expect((await orderOf(o.id)).payment_status).toBe("paid");
    const res = await approve(finance, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().result.status).toBe(201);
    expect((await orderOf(o.id)).payment_status).toBe("refunded");
    expect(await auditActions(t, approval.id)).toContain("POST /v1/orders/:id/payments");
  });

  it("submitting a purchase order above the amount is its approval: po:approve by someone else", async () => {
    const small = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "K-ACME", location: "K-MAIN", lines: [{ sku: "K-SHIRT", quantity: 5, unit_cost: 1000 }] },
      201,
    );
    expect((await as(t, purchasing, "POST", `/v1/purchase-orders/${small.id}/submit`)).statusCode).toBe(200);
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "K-ACME", location: "K-MAIN", lines: [{ sku: "K-SHIRT", quantity: 30, unit_cost: 1000 }] },
      201,
    );
    const incoming = (await level(t, "K-SHIRT", "K-MAIN"))?.incoming;
    const approval = held(await as(t, purchasing, "POST", `/v1/purchase-orders/${po.id}/submit`));
    expect(approval.kind).toBe("purchase_order");
    expect((await ok(t, "GET", `/v1/purchase-orders/${po.id}`)).status).toBe("draft");
    expect((await approve(support, approval.id)).statusCode).toBe(403);
    const res = await approve(purchasing2, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    expect((await ok(t, "GET", `/v1/purchase-orders/${po.id}`)).status).toBe("submitted");
    expect((await level(t, "K-SHIRT", "K-MAIN"))?.incoming).toBe((incoming ?? 0) + 30);
  });

  it("approving a count whose variances are worth more than the threshold waits; a cancelled count goes stale", async () => {
    const startCount = async () => {
      const c = await ok(t, "POST", "/v1/counts", { location: "K-MAIN", skus: ["K-BOOT"] }, 201);
      const expected = c.lines[0].expected as number;
      await ok(t, "POST", `/v1/counts/${c.id}/lines`, { lines: [{ sku: "K-BOOT", counted: expected - 20 }] });
      const submitted = await ok(t, "POST", `/v1/counts/${c.id}/submit`, {});
      expect(submitted.status).toBe("submitted");
      return c.id as number;
    };
    const before = (await level(t, "K-BOOT", "K-MAIN"))?.on_hand as number;
    const id = await startCount();
    const approval = held(await as(t, counter, "POST", `/v1/counts/${id}/approve`));
    expect(approval.kind).toBe("count_variance");
    expect((await level(t, "K-BOOT", "K-MAIN"))?.on_hand).toBe(before);
    expect((await approve(counter, approval.id)).json().code).toBe("approval_own_request");
    const res = await approve(counter2, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().result.body).toMatchObject({ id, status: "approved" });
    expect((await level(t, "K-BOOT", "K-MAIN"))?.on_hand).toBe(before - 20);

    const second = await startCount();
    const pending = held(await as(t, counter, "POST", `/v1/counts/${second}/approve`));
    await ok(t, "POST", `/v1/counts/${second}/cancel`);
    const late = await approve(counter2, pending.id);
    expect(late.json()).toMatchObject({ code: "approval_failed", failure: { code: "approval_stale" } });
    expect((await level(t, "K-BOOT", "K-MAIN"))?.on_hand).toBe(before - 20);
  });

  it("granting the admin role to a user waits for another user manager; other roles do not", async () => {
    const user = await ok(
      t,
      "POST",
      "/v1/users",
      { email: "k-grant@example.com", name: "Kim", roles: ["support"] },
      201,
    );
    expect(
      (await as(t, null, "PATCH", `/v1/users/${user.id}`, { roles: ["support", "finance"] })).statusCode,
    ).toBe(200);
    const approval = held(await as(t, null, "PATCH", `/v1/users/${user.id}`, { roles: ["admin"] }));
    expect(approval.kind).toBe("admin_grant");
    const now = await ok(t, "GET", "/v1/users");
    expect(now.data.find((u: { id: number }) => u.id === user.id).roles).toEqual(["finance", "support"]);
    expect((await approve(finance, approval.id)).statusCode).toBe(403);
    const res = await approve(admin2, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    const after = await ok(t, "GET", "/v1/users");
    expect(after.data.find((u: { id: number }) => u.id === user.id).roles).toEqual(["admin"]);
    expect(res.json().approval.approver_permission).toBe("users:manage");
  });

  it("creating a user with the admin role waits too; the generated password goes to the approver once", async () => {
    const withPassword = await as(t, null, "POST", "/v1/users", {
      email: "k-root@example.com",
      name: "Root",
      roles: ["admin"],
      password: "correct horse battery staple",
    });
    expect(withPassword.statusCode).toBe(422);
    expect(withPassword.json().errors[0].path).toBe("body.password");
    const approval = held(
      await as(t, null, "POST", "/v1/users", { email: "k-root@example.com", name: "Root", roles: ["admin"] }),
    );
    const listed = await ok(t, "GET", "/v1/users");
    expect(listed.data.some((u: { email: string }) => u.email === "k-root@example.com")).toBe(false);
    const res = await approve(admin2, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().result).toMatchObject({
      status: 201,
      body: { email: "k-root@example.com", roles: ["admin"] },
    });
    expect(res.json().result.body.password).toMatch(/.{15,}/);
    expect((await as(t, admin2, "GET", `/v1/approvals/${approval.id}`)).json().result.body.password).toBe(
      "[redacted]",
    );
  });

  it("a key with the admin role is made only on approval; its secret goes to the approver once", async () => {
    const approval = held(await as(t, null, "POST", "/v1/api-keys", { name: "k-root", roles: ["admin"] }));
    const keys = await ok(t, "GET", "/v1/api-keys");
    expect(keys.data.some((k: { name: string }) => k.name === "k-root")).toBe(false);
    const res = await approve(admin2, approval.id);
    expect(res.statusCode, res.body).toBe(200);
    const { key } = res.json().result.body;
    expect(key).toMatch(/^keel_/);
    const stored = await as(t, admin2, "GET", `/v1/approvals/${approval.id}`);
    expect(stored.json().result.body.key).toBe("[redacted]");
    expect(
      JSON.stringify(
        await t.db.selectFrom("audit_log").select("after").where("approval_id", "=", approval.id).execute(),
      ),
    ).not.toContain(key);
    const me = await t.app.inject({
      method: "GET",
      url: "/v1/approvals",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(me.statusCode).toBe(200);
    expect(
      (await as(t, null, "POST", "/v1/api-keys", { name: "k-plain", roles: ["support"] })).statusCode,
    ).toBe(201);
  });
});
