import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { eventsWhen, level, location, ok, product, stock } from "../../test/shop.js";
import { act, expectConsistent, order, orderBody, place, settings } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1, "DE");
  await product(t, ["TEE"]);
  await stock(t, "TEE", "EAST", 1000);
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));
const defaults = {
  auto_approve: true,
  require_payment_for_approval: false,
  allocate_at: "approval",
  fraud: { max_order_value: null, hold_on_country_mismatch: false, max_orders_per_email_per_hour: null },
  address_rules: { "*": ["line1", "city", "postal_code"] },
};
beforeEach(() => settings(t, defaults));

const states = (o: { allocations: { state: string; quantity: number }[] }) =>
  o.allocations.map((a) => `${a.quantity} ${a.state}`);

describe("order settings", () => {
  it("are readable and writable in part", async () => {
    const s = await ok(t, "GET", "/v1/settings/orders");
    expect(s).toMatchObject({ auto_approve: true, allocate_at: "approval", default_sla_hours: 48 });
    const changed = await settings(t, { fraud: { max_order_value: 50000 } });
    expect(changed.fraud).toEqual({
      max_order_value: 50000,
      hold_on_country_mismatch: false,
      max_orders_per_email_per_hour: null,
    });
    expect(changed.default_sla_hours).toBe(48);
  });

  it("allocate at approval: reserved at placement, allocated when approved", async () => {
    await settings(t, { auto_approve: false, allocate_at: "approval" });
    const o = await place(t, orderBody([{ sku: "TEE", quantity: 2 }]));
    expect(states(o)).toEqual(["2 reserved"]);
    expect(o.stock_committed_at).toBeNull();
    await act(t, o.id, "payments", { status: "paid", amount: 2000 }, 201);
    expect(states(await order(t, o.id))).toEqual(["2 reserved"]);
    const approved = await act(t, o.id, "approve");
    expect(states(approved)).toEqual(["2 allocated"]);
    expect(approved.stock_committed_at).not.toBeNull();
  });

  it("allocate at payment: approval leaves units reserved, the payment allocates them", async () => {
    await settings(t, { auto_approve: false, allocate_at: "payment" });
    const o = await place(t, orderBody([{ sku: "TEE", quantity: 3 }]));
    const approved = await act(t, o.id, "approve");
    expect(approved.status).toBe("approved");
    expect(states(approved)).toEqual(["3 reserved"]);
    await act(t, o.id, "payments", { status: "authorized", amount: 3000 }, 201);
    const paid = await order(t, o.id);
    expect(paid.payment_status).toBe("authorized");
    expect(states(paid)).toEqual(["3 allocated"]);
    const moves = await ok(t, "GET", `/v1/inventory/movements?reference=order:${o.id}&reason=allocation`);
    expect(moves.data.map((m: { bucket: string; delta: number }) => [m.bucket, m.delta]).sort()).toEqual([
      ["allocated", 3],
      ["reserved", -3],
    ]);
    // paid at placement: allocated at once, before approval
    const prepaid = await place(
      t,
      orderBody([{ sku: "TEE", quantity: 1 }], { payment: { status: "paid", amount: 1000 } }),
    );
    expect(prepaid).toMatchObject({ status: "received", payment_status: "paid" });
    expect(states(prepaid)).toEqual(["1 allocated"]);
  });

  it("auto-approve on approves clean orders at placement; off leaves them received", async () => {
    await settings(t, { auto_approve: true });
    expect((await place(t, orderBody([{ sku: "TEE", quantity: 1 }]))).status).toBe("approved");
    await settings(t, { auto_approve: false });
    const o = await place(t, orderBody([{ sku: "TEE", quantity: 1 }]));
    expect(o.status).toBe("received");
    expect(o.timeline.map((e: { to: string }) => e.to)).toEqual(["received"]);
  });

  it("fraud rules hold orders with the reasons; release returns them and approves them when auto-approve is on", async () => {
    await settings(t, {
      fraud: { max_order_value: 5000, hold_on_country_mismatch: true, max_orders_per_email_per_hour: 2 },
    });
    const big = await place(t, orderBody([{ sku: "TEE", quantity: 6 }]));
    expect(big).toMatchObject({ status: "on_hold", held_from: "received" });
    expect(big.hold_reasons).toMatchObject([
      { code: "fraud", detail: expect.stringMatching(/6000 EUR is over the limit of 5000/) },
    ]);
    expect(states(big)).toEqual(["6 reserved"]);

    const mismatch = await place(
      t,
      orderBody([{ sku: "TEE", quantity: 1 }], { billing_address: { country: "NG" } }),
    );
    expect(mismatch.hold_reasons.map((r: { detail: string }) => r.detail)).toEqual([
      "billing country NG differs from shipping country DE",
    ]);

    const email = { customer: { email: "Many@Example.com" } };
    await place(t, orderBody([{ sku: "TEE", quantity: 1 }], email));
    await place(t, orderBody([{ sku: "TEE", quantity: 1 }], { customer: { email: "many@example.com" } }));
    const third = await place(t, orderBody([{ sku: "TEE", quantity: 1 }], email));
    expect(third.hold_reasons.map((r: { detail: string }) => r.detail)).toEqual([
      "3 orders from Many@Example.com in the last hour (limit 2)",
    ]);

    const queue = await ok(t, "GET", "/v1/orders?hold_reason=fraud");
    expect(queue.data.map((o: { id: number }) => o.id)).toEqual([big.id, mismatch.id, third.id]);

    const released = await act(t, big.id, "release");
    expect(released).toMatchObject({ status: "approved", hold_reasons: [] });
    expect(states(released)).toEqual(["6 allocated"]);
    expect(released.timeline.map((e: { from: string; to: string }) => `${e.from}>${e.to}`)).toEqual([
      "null>received",
      "received>on_hold",
      "on_hold>received",
      "received>approved",
      "approved>approved",
    ]);
    const mine = (d: { type: string; payload: { id: number } }[]) => d.filter((e) => e.payload.id === big.id);
    const events = await eventsWhen(
      t,
      "/v1/events?type=order.held,order.released&limit=100",
      (d) => mine(d).length >= 2,
    );
    expect(mine(events).map((e) => e.type)).toEqual(["order.held", "order.released"]);
    await settings(t, { auto_approve: false });
    const back = await act(t, mismatch.id, "release");
    expect(back.status).toBe("received");
  });

  it("address rules per country hold incomplete addresses", async () => {
    await settings(t, { address_rules: { "*": ["line1", "city", "postal_code"], IE: ["line1", "city"] } });
    const ie = await place(
      t,
      orderBody([{ sku: "TEE", quantity: 1 }], {
        shipping_address: { country: "IE", line1: "1 Main St", city: "Cork" },
      }),
    );
    expect(ie.status).toBe("approved");
    const de = await place(
      t,
      orderBody([{ sku: "TEE", quantity: 1 }], {
        shipping_address: { country: "DE", line1: "Hauptstr. 1", city: "Berlin" },
      }),
    );
    expect(de).toMatchObject({
      status: "on_hold",
      hold_reasons: [{ code: "address", detail: "the shipping address (DE) lacks postal_code" }],
    });
  });

  it("requiring payment holds unpaid orders, and the payment lifts the hold and approves", async () => {
    await settings(t, { require_payment_for_approval: true });
    const o = await place(t, orderBody([{ sku: "TEE", quantity: 2 }]));
    expect(o).toMatchObject({
      status: "on_hold",
      hold_reasons: [{ code: "payment" }],
      payment_status: "pending",
    });
    await act(t, o.id, "payments", { status: "paid", amount: 1000 }, 201);
    expect(await order(t, o.id)).toMatchObject({ status: "on_hold", payment_status: "partially_paid" });
    await act(t, o.id, "payments", { status: "paid", amount: 1000 }, 201);
    const paid = await order(t, o.id);
    expect(paid).toMatchObject({ status: "approved", payment_status: "paid" });
    expect(states(paid)).toEqual(["2 allocated"]);

    // an operator releasing the hold early still cannot approve without payment
    await settings(t, { auto_approve: false });
    const unpaid = await place(t, orderBody([{ sku: "TEE", quantity: 1 }]));
    await act(t, unpaid.id, "release");
    const refused = await t.app.inject({
      method: "POST",
      url: `/v1/orders/${unpaid.id}/approve`,
      headers: t.auth,
      payload: {},
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toMatch(/payment is required before approval/);

    // paid orders approve at once
    await settings(t, { auto_approve: true });
    const prepaid = await place(
      t,
      orderBody([{ sku: "TEE", quantity: 1 }], { payment: { status: "authorized", amount: 1000 } }),
    );
    expect(prepaid.status).toBe("approved");
    // a failed payment after approval puts the order on hold
    await act(t, prepaid.id, "payments", { status: "voided", amount: 1000 }, 201);
    expect(await order(t, prepaid.id)).toMatchObject({
      status: "on_hold",
      payment_status: "voided",
      hold_reasons: [{ code: "payment" }],
    });
  });
});

describe("payments", () => {
  it("derive the payment status in one place from the events", async () => {
    const o = await place(
      t,
      orderBody([{ sku: "TEE", quantity: 3 }], {
        shipping_total: 500,
        tax_total: 600,
        discount_total: 100,
        total: 4000,
      }),
    );
    expect(o).toMatchObject({ subtotal: 3000, total: 4000, payment_status: "pending" });
    const seq: [string, number, string][] = [
      ["failed", 4000, "failed"],
      ["authorized", 4000, "authorized"],
      ["paid", 1500, "authorized"],
      ["paid", 2500, "paid"],
      ["refunded", 1000, "partially_refunded"],
      ["refunded", 3000, "refunded"],
    ];
    for (const [status, amount, expected] of seq) {
      const after = await act(t, o.id, "payments", { status, amount }, 201);
      expect(after.payment_status, `${status} ${amount}`).toBe(expected);
    }
    expect((await order(t, o.id)).payments).toHaveLength(6);
    expect(await level(t, "TEE", "EAST")).toBeDefined();
  });
});
