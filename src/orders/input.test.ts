import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { act, expectConsistent, orderBody, place, snapshot } from "./testing.js";

let t: TestContext;
let orderId: number;
let fulfilmentId: number;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1);
  await product(t, ["TEE"]);
  await product(t, ["MUG"]);
  await stock(t, "TEE", "EAST", 20);
  await stock(t, "MUG", "EAST", 1);
  orderId = (await place(t, orderBody([{ sku: "TEE", quantity: 2 }]))).id;
  fulfilmentId = (
    await ok(t, "POST", `/v1/orders/${orderId}/fulfillments`, { lines: [{ sku: "TEE", quantity: 1 }] }, 201)
  ).id;
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

const valid = () => orderBody([{ sku: "TEE", quantity: 1 }]);

describe("bad input is a clear 4xx and changes nothing", () => {
  it("on placement", async () => {
    const cases: [string, unknown, number, string][] = [
      ["no currency", { ...valid(), currency: undefined }, 400, "currency"],
      ["lower-case currency", { ...valid(), currency: "eur" }, 400, "currency"],
      ["unknown field", { ...valid(), colour: "red" }, 400, "colour"],
      ["no lines", { ...valid(), lines: [] }, 400, "lines"],
      ["quantity 0", orderBody([{ sku: "TEE", quantity: 0 }]), 400, "quantity"],
      ["fractional quantity", orderBody([{ sku: "TEE", quantity: 1.5 }]), 400, "quantity"],
      ["negative price", orderBody([{ sku: "TEE", quantity: 1, unit_price: -1 }]), 400, "unit_price"],
      ["price in decimals", orderBody([{ sku: "TEE", quantity: 1, unit_price: 9.99 }]), 400, "unit_price"],
      ["bad email", { ...valid(), customer: { email: "not-an-email" } }, 400, "email"],
      ["no customer", { ...valid(), customer: undefined }, 400, "customer"],
      ["country not ISO", { ...valid(), shipping_address: { country: "Germany" } }, 400, "country"],
      [
        "unknown address field",
        { ...valid(), shipping_address: { country: "DE", street: "x" } },
        400,
        "street",
      ],
      ["unknown SKU", orderBody([{ sku: "NOPE", quantity: 1 }]), 422, "lines.0.sku"],
      ["unknown channel", { ...valid(), channel: "amazon" }, 422, "channel"],
      ["total does not add up", { ...valid(), total: 999 }, 422, "total"],
      ["discount above total", { ...valid(), discount_total: 5000 }, 422, "discount_total"],
      [
        "payment above total",
        { ...valid(), payment: { status: "paid", amount: 2000 } },
        422,
        "payment.amount",
      ],
      ["unknown reservation", { ...valid(), reservation_id: 999 }, 422, "reservation_id"],
      ["placed in the future", { ...valid(), placed_at: "2999-01-01T00:00:00Z" }, 422, "placed_at"],
      ["placed_at not a time", { ...valid(), placed_at: "yesterday" }, 400, "placed_at"],
    ];
    const before = await snapshot(t);
    for (const [name, body, status, field] of cases) {
      const res = await api(t, "POST", "/v1/orders", body);
      expect(res.statusCode, name).toBe(status);
      expect(res.headers["content-type"], name).toContain("application/problem+json");
      expect(res.json().code, name).toBe("validation_failed");
      expect(JSON.stringify(res.json().errors), name).toContain(field);
    }
    const notJson = await t.app.inject({
      method: "POST",
      url: "/v1/orders",
      headers: { ...t.auth, "content-type": "application/json" },
      payload: "{",
    });
    expect(notJson.statusCode).toBe(400);
    const short = await api(
      t,
      "POST",
      "/v1/orders",
      orderBody([
        { sku: "TEE", quantity: 1 },
        { sku: "MUG", quantity: 2 },
      ]),
    );
    expect(short.statusCode).toBe(409);
    expect(short.json()).toMatchObject({
      code: "insufficient_stock",
      lines: [{ sku: "MUG", requested: 2, available: 1 }],
    });
    expect(await snapshot(t)).toEqual(before);
  });

  it("on order actions, fulfilments, settings and channels", async () => {
    const cases: [string, string, unknown, number][] = [
      ["POST", `/v1/orders/${orderId}/hold`, {}, 400],
      ["POST", `/v1/orders/${orderId}/hold`, { reason: "x", code: "vip" }, 400],
      ["POST", `/v1/orders/${orderId}/release`, { reasons: ["nope"] }, 400],
      ["POST", `/v1/orders/${orderId}/cancel`, {}, 400],
      ["POST", `/v1/orders/${orderId}/cancel`, { reason: "x", lines: [{ sku: "MUG", quantity: 1 }] }, 422],
      ["POST", `/v1/orders/${orderId}/cancel`, { reason: "x", lines: [{ sku: "TEE", quantity: 5 }] }, 409],
      ["POST", `/v1/orders/${orderId}/payments`, { status: "stolen", amount: 1 }, 400],
      ["POST", `/v1/orders/${orderId}/payments`, { status: "paid" }, 400],
      ["POST", `/v1/orders/${orderId}/payments`, { status: "refunded", amount: 100 }, 422],
      ["POST", `/v1/orders/${orderId}/payments`, { status: "voided", amount: 100 }, 422],
      ["POST", `/v1/orders/${orderId}/payments`, { status: "paid", amount: 0 }, 422],
      ["POST", `/v1/orders/${orderId}/fulfillments`, { lines: [{ sku: "TEE", quantity: 5 }] }, 422],
      ["POST", `/v1/orders/${orderId}/fulfillments`, { location: "MOON" }, 422],
      ["POST", `/v1/orders/${orderId}/approve`, { reason: 5 }, 400],
      ["POST", "/v1/orders/999999/approve", {}, 404],
      ["POST", "/v1/orders/K-1/hold", { reason: "x" }, 404],
      ["POST", "/v1/orders/a%20b/approve", {}, 400],
      ["GET", "/v1/orders/999999", undefined, 404],
      ["GET", "/v1/orders?status=lost", undefined, 400],
      ["GET", "/v1/orders?limit=0", undefined, 400],
      ["GET", "/v1/orders?cursor=abc", undefined, 400],
      ["GET", "/v1/orders?hold_reason=vip", undefined, 400],
      ["POST", `/v1/fulfillments/${fulfilmentId}/ship`, { carrier: "DHL" }, 400],
      ["POST", `/v1/fulfillments/${fulfilmentId}/pick`, { now: true }, 400],
      ["POST", "/v1/fulfillments/999999/pick", {}, 404],
      ["POST", "/v1/fulfillments/abc/pick", {}, 400],
      ["GET", "/v1/fulfillments?status=lost", undefined, 400],
      ["GET", "/v1/fulfillments?location=MOON", undefined, 422],
      ["POST", "/v1/bins", { sku: "TEE", location: "EAST", bin: "" }, 400],
      ["POST", "/v1/bins", { sku: "NOPE", location: "EAST", bin: "A-1" }, 422],
      ["POST", "/v1/channels", { kind: "ebay", name: "eBay" }, 400],
      ["POST", "/v1/channels", { kind: "webhook", name: "X", config: { sla_hours: 0 } }, 400],
      ["POST", "/v1/channels", { kind: "webhook", name: "X", code: "Bad Code" }, 400],
    ];
    const before = await snapshot(t);
    for (const [method, url, body, status] of cases) {
      const res = await api(t, method as "POST", url, body);
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(body)}: ${res.body}`).toBe(status);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    for (const body of [
      { allocate_at: "shipment" },
      { auto_approve: "yes" },
      { fraud: { max_order_value: -1 } },
      { x: 1 },
      { address_rules: { Germany: ["city"] } },
    ]) {
      const res = await t.app.inject({
        method: "PUT",
        url: "/v1/settings/orders",
        headers: t.auth,
        payload: body,
      });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(await snapshot(t)).toEqual(before);
    const dup = await api(t, "POST", "/v1/channels", { kind: "manual", name: "Manual" });
    expect(dup.statusCode).toBe(409);
  });

  it("answers by order number as well as id, and the OpenAPI document still builds", async () => {
    const o = await ok(t, "GET", `/v1/orders/${orderId}`);
    expect((await ok(t, "GET", `/v1/orders/${o.number}`)).id).toBe(orderId);
    await act(t, o.number, "hold", { reason: "by number" });
    await act(t, o.number, "release");
    const doc = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(doc.statusCode).toBe(200);
    const paths = Object.keys(doc.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/v1/orders",
        "/v1/orders/{id}",
        "/v1/orders/{id}/approve",
        "/v1/orders/{id}/fulfillments",
        "/v1/fulfillments",
        "/v1/fulfillments/{id}/ship",
        "/v1/channels",
        "/v1/settings/orders",
      ]),
    );
  });
});
