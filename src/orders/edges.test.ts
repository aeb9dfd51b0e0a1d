import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, level, location, ok, product, stock } from "../../test/shop.js";
import { act, expectConsistent, order, orderBody, place } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1);
  await product(t, ["PART-A"]);
  await product(t, ["PART-B"]);
  await product(t, ["KIT"], {
    kind: "bundle",
    policy: "backorder",
    components: [
      { sku: "PART-A", quantity: 1 },
      { sku: "PART-B", quantity: 2 },
    ],
  });
  await product(t, ["SOAP"]);
  await stock(t, "SOAP", "EAST", 50);
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

describe("bundles", () => {
  it("a backordered bundle fills only when every component is there, in whole bundle units", async () => {
    const o = await place(t, orderBody([{ sku: "KIT", quantity: 2 }]));
    expect(o).toMatchObject({ status: "backordered", lines: [{ backordered: 2, held: 0 }] });
    await stock(t, "PART-A", "EAST", 5);
    expect((await order(t, o.id)).lines[0]).toMatchObject({ backordered: 2, held: 0 });
    await stock(t, "PART-B", "EAST", 3);
    const one = await order(t, o.id);
    expect(one.lines[0]).toMatchObject({ backordered: 1, held: 1 });
    expect(one.allocations.map((a: { sku: string; quantity: number }) => [a.sku, a.quantity])).toEqual([
      ["PART-A", 1],
      ["PART-B", 2],
    ]);
    await stock(t, "PART-B", "EAST", 4);
    expect(await order(t, o.id)).toMatchObject({ status: "approved", lines: [{ backordered: 0, held: 2 }] });
    expect(await level(t, "PART-B", "EAST")).toMatchObject({ allocated: 4, available: 0 });
  });

  it("cancels part of a bundle line with all its components", async () => {
    await stock(t, "PART-A", "EAST", 20);
    await stock(t, "PART-B", "EAST", 30);
    const o = await place(t, orderBody([{ sku: "KIT", quantity: 3 }]));
    const after = await act(t, o.id, "cancel", { reason: "one fewer", lines: [{ sku: "KIT", quantity: 1 }] });
    expect(after.lines[0]).toMatchObject({ cancelled: 1, held: 2 });
    expect(
      after.allocations
        .filter((a: { state: string }) => a.state === "released")
        .map((a: { sku: string; quantity: number }) => [a.sku, a.quantity]),
    ).toEqual([
      ["PART-A", 1],
      ["PART-B", 2],
    ]);
  });
});

describe("fulfilments and holds", () => {
  it("cancelling a fulfilment keeps the units held; cancelling the order then releases them and its open fulfilments", async () => {
    const o = await place(t, orderBody([{ sku: "SOAP", quantity: 2 }]));
    const f = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
    expect((await ok(t, "POST", `/v1/fulfillments/${f.id}/cancel`)).status).toBe("cancelled");
    const back = await order(t, o.id);
    expect(back).toMatchObject({
      status: "approved",
      fulfillment_status: "unfulfilled",
      lines: [{ held: 2 }],
    });
    const again = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    expect((await order(t, o.id)).status).toBe("preparing");
    const cancelled = await act(t, o.id, "cancel", { reason: "customer cancelled while picking" });
    expect(cancelled).toMatchObject({ status: "cancelled", lines: [{ held: 0, cancelled: 2 }] });
    expect((await ok(t, "GET", `/v1/fulfillments/${again.id}`)).status).toBe("cancelled");
  });

  it("holds for several reasons at once and releases them one by one", async () => {
    const o = await place(t, orderBody([{ sku: "SOAP", quantity: 1 }]));
    await act(t, o.id, "hold", { reason: "address looks odd", code: "address" });
    const twice = await act(t, o.id, "hold", { reason: "card flagged", code: "fraud" });
    expect(twice).toMatchObject({ status: "on_hold", held_from: "approved" });
    expect(twice.hold_reasons.map((r: { code: string }) => r.code)).toEqual(["address", "fraud"]);
    const partly = await act(t, o.id, "release", { reasons: ["address"] });
    expect(partly).toMatchObject({ status: "on_hold", hold_reasons: [{ code: "fraud" }] });
    const wrong = await api(t, "POST", `/v1/orders/${o.id}/release`, { reasons: ["payment"] });
    expect(wrong.statusCode).toBe(422);
    expect(await act(t, o.id, "release", { reasons: ["fraud"] })).toMatchObject({
      status: "approved",
      hold_reasons: [],
    });
  });

  it("refuses products that are not on sale", async () => {
    const draft = await ok(
      t,
      "POST",
      "/v1/products",
      {
        title: "Soon",
        kind: "physical",
        status: "draft",
        variants: [{ sku: "SOON", price: 100, currency: "EUR" }],
      },
      201,
    );
    expect(draft.status).toBe("draft");
    const res = await api(t, "POST", "/v1/orders", orderBody([{ sku: "SOON", quantity: 1 }]));
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([
      { path: "body.lines.0.sku", message: "SOON is not on sale (product draft)" },
    ]);
  });
});
