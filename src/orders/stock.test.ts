import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { level, location, ok, product, stock } from "../../test/shop.js";
import { sweepBackorders } from "./backorders.js";
import { act, expectConsistent, order, orderBody, place } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "BERLIN", 1, "DE");
  await location(t, "PARIS", 2, "FR");
  await ok(
    t,
    "POST",
    "/v1/channels",
    { kind: "shopify", name: "Shop Whole", code: "whole", config: { allow_split: false } },
    201,
  );
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

const alloc = (o: { allocations: { sku: string; location: string; quantity: number; state: string }[] }) =>
  o.allocations.map((a) => [a.sku, a.location, a.quantity, a.state]);
const levels = async (sku: string) => {
  const strip = (l?: Record<string, unknown>) => {
    if (!l) return l;
    const { updated_at: _u, ...rest } = l;
    return rest;
  };
  return { BERLIN: strip(await level(t, sku, "BERLIN")), PARIS: strip(await level(t, sku, "PARIS")) };
};

describe("allocation across warehouses", () => {
  it("splits an order across two warehouses when neither has it all, with the reasons on the order", async () => {
    await product(t, ["LAMP"]);
    await product(t, ["SHADE"]);
    await stock(t, "LAMP", "BERLIN", 3);
    await stock(t, "SHADE", "PARIS", 2);
    const o = await place(
      t,
      orderBody([
        { sku: "LAMP", quantity: 2 },
        { sku: "SHADE", quantity: 2 },
      ]),
    );
    expect(alloc(o)).toEqual([
      ["LAMP", "BERLIN", 2, "allocated"],
      ["SHADE", "PARIS", 2, "allocated"],
    ]);
    expect(o.allocations[0].reasons[0].detail).toMatch(/split over BERLIN \+ PARIS: 2 shipments/);
    const first = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    expect(first).toMatchObject({ location: "BERLIN", lines: [{ sku: "LAMP", quantity: 2 }] });
    const second = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    expect(second).toMatchObject({ location: "PARIS", lines: [{ sku: "SHADE", quantity: 2 }] });
    for (const f of [first, second]) {
      await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
      await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
    }
    await ok(t, "POST", `/v1/fulfillments/${first.id}/ship`, { carrier: "DHL", tracking_number: "A1" });
    expect(await order(t, o.id)).toMatchObject({
      status: "partially_shipped",
      fulfillment_status: "partial",
    });
    await ok(t, "POST", `/v1/fulfillments/${second.id}/ship`, {
      carrier: "Colissimo",
      tracking_number: "B2",
    });
    expect((await order(t, o.id)).status).toBe("shipped");
    expect(await levels("LAMP")).toMatchObject({ BERLIN: { on_hand: 1, allocated: 0 } });
    expect(await levels("SHADE")).toMatchObject({ PARIS: { on_hand: 0, allocated: 0 } });
  });

  it("keeps a channel that does not allow splits to one location, backordering what waits", async () => {
    await product(t, ["VASE"], { policy: "backorder" });
    await product(t, ["BOWL"]);
    await stock(t, "VASE", "PARIS", 5);
    await stock(t, "BOWL", "BERLIN", 5);
    const o = await place(
      t,
      orderBody(
        [
          { sku: "VASE", quantity: 1 },
          { sku: "BOWL", quantity: 1 },
        ],
        { channel: "whole" },
      ),
    );
    expect(alloc(o)).toEqual([["BOWL", "BERLIN", 1, "allocated"]]);
    expect(o).toMatchObject({
      status: "backordered",
      lines: [
        { sku: "VASE", backordered: 1 },
        { sku: "BOWL", held: 1 },
      ],
    });
    const refused = await t.app.inject({
      method: "POST",
      url: `/v1/orders/${o.id}/fulfillments`,
      headers: t.auth,
      payload: {},
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toMatch(/ships orders whole/);
    // stock arriving at the other warehouse does not split it
    await stock(t, "VASE", "PARIS", 6);
    expect((await order(t, o.id)).lines[0].backordered).toBe(1);
    await stock(t, "VASE", "BERLIN", 1);
    expect(await order(t, o.id)).toMatchObject({
      status: "approved",
      lines: [{ backordered: 0, held: 1 }, { held: 1 }],
    });
    await act(t, o.id, "cancel", { reason: "test over" });
  });
});

describe("backorders", () => {
  it("fill automatically, first placed first, when a receipt arrives; the order shows the expected date meanwhile", async () => {
    await product(t, ["CAP"], { policy: "backorder" });
    // two units are already on their way from BERLIN to PARIS
    await stock(t, "CAP", "BERLIN", 2);
    const transfer = await ok(
      t,
      "POST",
      "/v1/inventory/transfers",
      { from: "BERLIN", to: "PARIS", lines: [{ sku: "CAP", quantity: 2 }] },
      201,
    );
    await stock(t, "CAP", "PARIS", 4);
    const first = await place(t, orderBody([{ sku: "CAP", quantity: 3 }]));
    const second = await place(t, orderBody([{ sku: "CAP", quantity: 2 }]));
    expect(first).toMatchObject({ status: "approved", lines: [{ held: 3, backordered: 0 }] });
    expect(second).toMatchObject({ status: "backordered", lines: [{ held: 1, backordered: 1 }] });
    expect(second.lines[0].decision.map((d: { rule: string }) => d.rule)).toContain("backorder");
    const third = await place(t, orderBody([{ sku: "CAP", quantity: 2 }]));
    expect(third).toMatchObject({ status: "backordered", lines: [{ held: 0, backordered: 2 }] });
    // the transfer on its way gives the expected date (sent + transfer_transit_days)
    expect(third.lines[0].expected_from).toBe(`transfer:${transfer.id}`);
    expect(new Date(third.lines[0].expected_at).getTime()).toBeGreaterThan(Date.now() + 2.9 * 86_400_000);

    // one unit arrives: it goes to the earlier order
    await ok(t, "POST", `/v1/inventory/transfers/${transfer.id}/receive`, {
      lines: [{ sku: "CAP", quantity: 1 }],
    });
    expect(await order(t, second.id)).toMatchObject({
      status: "approved",
      lines: [{ held: 2, backordered: 0 }],
    });
    expect((await order(t, third.id)).lines[0]).toMatchObject({ held: 0, backordered: 2 });
    // the rest of the transfer, then an adjustment: the later order fills too
    await ok(t, "POST", `/v1/inventory/transfers/${transfer.id}/receive`, {});
    expect((await order(t, third.id)).lines[0]).toMatchObject({ held: 1, backordered: 1 });
    await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: "CAP", location: "PARIS", delta: 5, reason: "received" },
      201,
    );
    const filled = await order(t, third.id);
    expect(filled).toMatchObject({ status: "approved", lines: [{ held: 2, backordered: 0 }] });
    // the order had committed its stock at approval, so the filled units are allocated
    expect(alloc(filled)).toEqual([["CAP", "PARIS", 2, "allocated"]]);
    expect(filled.timeline.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["await_stock", "backorder_fill", "stock_filled"]),
    );
    expect(await level(t, "CAP", "PARIS")).toMatchObject({ on_hand: 11, allocated: 7, available: 4 });
  });

  it("fill from units a cancellation gives back, and the sweep catches anything left", async () => {
    await product(t, ["PEN"], { policy: "preorder" });
    await stock(t, "PEN", "BERLIN", 2);
    const holder = await place(t, orderBody([{ sku: "PEN", quantity: 2 }]));
    const waiter = await place(t, orderBody([{ sku: "PEN", quantity: 1 }]));
    expect(waiter.status).toBe("backordered");
    await act(t, holder.id, "cancel", { reason: "customer cancelled" });
    expect(await order(t, waiter.id)).toMatchObject({ status: "approved", lines: [{ held: 1 }] });
    expect(await sweepBackorders(t.db)).toBe(0);
  });
});

describe("backorders and purchase orders", () => {
  it("show the purchase order's expected date and fill from its receipt", async () => {
    await product(t, ["BOOT"], { policy: "preorder" });
    await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme", lead_time_days: 10 }, 201);
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      {
        supplier: "ACME",
        location: "PARIS",
        lines: [{ sku: "BOOT", quantity: 3, unit_cost: 500, expected_date: "2031-05-04" }],
      },
      201,
    );
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const o = await place(t, orderBody([{ sku: "BOOT", quantity: 2 }]));
    expect(o.lines[0]).toMatchObject({ backordered: 2, expected_from: `po:${po.id}` });
    expect(o.lines[0].expected_at.slice(0, 10)).toBe("2031-05-04");
    await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "BOOT", quantity: 3 }] },
      201,
    );
    expect(await order(t, o.id)).toMatchObject({ status: "approved", lines: [{ held: 2, backordered: 0 }] });
  });
});

describe("cancellation", () => {
  it("restores availability exactly, with release and deallocation movements", async () => {
    await product(t, ["RUG"]);
    await stock(t, "RUG", "BERLIN", 4);
    await stock(t, "RUG", "PARIS", 4);
    const before = await levels("RUG");
    const o = await place(t, orderBody([{ sku: "RUG", quantity: 6 }]));
    expect(alloc(o)).toEqual([
      ["RUG", "BERLIN", 4, "allocated"],
      ["RUG", "PARIS", 2, "allocated"],
    ]);
    const cancelled = await act(t, o.id, "cancel", { reason: "fraud confirmed" });
    expect(cancelled).toMatchObject({ status: "cancelled", lines: [{ cancelled: 6, held: 0 }] });
    expect(await levels("RUG")).toEqual(before);
    const moves = await ok(t, "GET", `/v1/inventory/movements?reference=order:${o.id}&reason=deallocation`);
    expect(moves.data.map((m: { location: string; delta: number }) => [m.location, m.delta]).sort()).toEqual([
      ["BERLIN", -4],
      ["PARIS", -2],
    ]);
  });

  it("cancels lines before shipment, refuses the whole order after, and points to returns", async () => {
    await product(t, ["CUP"]);
    await product(t, ["PLATE"]);
    await stock(t, "CUP", "BERLIN", 10);
    await stock(t, "PLATE", "BERLIN", 10);
    const o = await place(
      t,
      orderBody([
        { sku: "CUP", quantity: 4 },
        { sku: "PLATE", quantity: 2 },
      ]),
    );
    const part = await act(t, o.id, "cancel", {
      reason: "out of budget",
      lines: [{ sku: "CUP", quantity: 1 }],
    });
    expect(part).toMatchObject({ status: "approved", lines: [{ cancelled: 1, held: 3 }, { held: 2 }] });
    expect(await level(t, "CUP", "BERLIN")).toMatchObject({ allocated: 3, available: 7 });
    const f = await ok(
      t,
      "POST",
      `/v1/orders/${o.id}/fulfillments`,
      { lines: [{ sku: "CUP", quantity: 3 }] },
      201,
    );
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "DPD", tracking_number: "C3" });
    expect((await order(t, o.id)).status).toBe("partially_shipped");
    const whole = await t.app.inject({
      method: "POST",
      url: `/v1/orders/${o.id}/cancel`,
      headers: t.auth,
      payload: { reason: "x" },
    });
    expect(whole.statusCode).toBe(409);
    expect(whole.json()).toMatchObject({ code: "invalid_transition" });
    expect(whole.json().detail).toMatch(/POST \/v1\/returns/);
    const shippedUnits = await t.app.inject({
      method: "POST",
      url: `/v1/orders/${o.id}/cancel`,
      headers: t.auth,
      payload: { reason: "x", lines: [{ sku: "CUP", quantity: 1 }] },
    });
    expect(shippedUnits.statusCode).toBe(409);
    expect(shippedUnits.json().detail).toMatch(/return/);
    const rest = await act(t, o.id, "cancel", {
      reason: "not needed",
      lines: [{ sku: "PLATE", quantity: 2 }],
    });
    expect(rest).toMatchObject({ status: "shipped", lines: [{ shipped: 3 }, { cancelled: 2 }] });
    expect(await level(t, "PLATE", "BERLIN")).toMatchObject({ allocated: 0, available: 10 });
  });
});

describe("checkout reservations", () => {
  it("turn into the order's hold; what the order does not need is released", async () => {
    await product(t, ["HAT"]);
    await product(t, ["SCARF"]);
    await stock(t, "HAT", "PARIS", 5);
    await stock(t, "SCARF", "PARIS", 5);
    const r = await ok(
      t,
      "POST",
      "/v1/reservations",
      {
        lines: [
          { sku: "HAT", quantity: 2 },
          { sku: "SCARF", quantity: 1 },
        ],
      },
      201,
    );
    const o = await place(t, orderBody([{ sku: "HAT", quantity: 3 }], { reservation_id: r.id }));
    expect(alloc(o)).toEqual([["HAT", "PARIS", 3, "allocated"]]);
    expect(o.allocations[0].reasons.map((x: { rule: string }) => x.rule)).toEqual([
      "one_location",
      "reservation",
    ]);
    expect((await ok(t, "GET", `/v1/reservations/${r.id}`)).status).toBe("consumed");
    expect(await level(t, "SCARF", "PARIS")).toMatchObject({ reserved: 0, available: 5 });
    expect(await level(t, "HAT", "PARIS")).toMatchObject({ reserved: 0, allocated: 3, available: 2 });
    const again = await t.app.inject({
      method: "POST",
      url: "/v1/orders",
      headers: t.auth,
      payload: orderBody([{ sku: "HAT", quantity: 1 }], { reservation_id: r.id }),
    });
    expect(again.statusCode).toBe(422);
  });
});
