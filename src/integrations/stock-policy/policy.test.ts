import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { api, location, ok, product, stock } from "../../../test/shop.js";
import { offeredQuantities } from "./policy.js";

let t: TestContext;

beforeAll(async () => {
  t = await testApp();
  await location(t, "PA", 1);
  await location(t, "PB", 2);
  await product(t, ["P-1"]);
  await product(t, ["P-DIG"], { kind: "digital" });
  await t.db
    .insertInto("channels")
    .values({ code: "shop", kind: "webhook", name: "Shop", config: "{}" })
    .execute();
  await stock(t, "P-1", "PA", 30);
  await stock(t, "P-1", "PB", 12);
});
afterAll(() => t.close());

const put = (code: string, body: unknown) =>
  t.app.inject({
    method: "PUT",
    url: `/v1/channels/${code}/stock-policy`,
    headers: t.auth,
    payload: body as object,
  });
const offerOf = async (sku = "P-1") =>
  (await ok(t, "GET", `/v1/inventory/availability?sku=${sku}&channel=shop`)).channel;

describe("channel stock policies", () => {
  it("defaults to everything available, and availability without ?channel= is unchanged", async () => {
    expect(await ok(t, "GET", "/v1/channels/shop/stock-policy")).toEqual({
      channel: "shop",
      locations: null,
      buffer: 0,
      share_percent: 100,
      max: null,
    });
    expect(await offerOf()).toEqual({ code: "shop", offered: 42 });
    const plain = await ok(t, "GET", "/v1/inventory/availability?sku=P-1");
    expect(plain).toEqual({
      sku: "P-1",
      kind: "physical",
      available: 42,
      locations: [
        { location: "PA", available: 30 },
        { location: "PB", available: 12 },
      ],
    });
  });

  it("applies locations, buffer, share and max, and never goes below 0", async () => {
    let res = await put("shop", { locations: ["PA"], buffer: 5, share_percent: 50 });
    expect(res.statusCode).toBe(200);
    expect(await offerOf()).toEqual({ code: "shop", offered: 12 }); // floor((30 − 5) × 0.5)
    res = await put("shop", { locations: ["PA", "PB"], buffer: 2, share_percent: 75, max: 20 });
    expect(res.json()).toMatchObject({ max: 20, share_percent: 75 });
    expect(await offerOf()).toEqual({ code: "shop", offered: 20 }); // floor(40 × 0.75) = 30, capped
    await put("shop", { buffer: 100 });
    expect(await offerOf()).toEqual({ code: "shop", offered: 0 });
    expect((await ok(t, "GET", "/v1/channels/shop/stock-policy")).locations).toBeNull();
    // reserved units are not offered
    await put("shop", { locations: ["PB"] });
    await ok(t, "POST", "/v1/reservations", { lines: [{ sku: "P-1", quantity: 4, location: "PB" }] }, 201);
    expect(await offerOf()).toEqual({ code: "shop", offered: 8 });
    const offers = await offeredQuantities(t.db, "shop", ["P-1", "P-DIG", "NOPE"]);
    expect([...offers.values()]).toEqual([
      { sku: "P-1", available: 8, offered: 8 },
      { sku: "P-DIG", available: null, offered: null },
    ]);
  });

  it("rejects bad input and unknown channels, changing nothing", async () => {
    await put("shop", { buffer: 1 });
    for (const body of [
      { share_percent: 0 },
      { share_percent: 101 },
      { buffer: -1 },
      { max: 1.5 },
      { extra: 1 },
    ]) {
      const res = await put("shop", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    const unknownLoc = await put("shop", { locations: ["NOWHERE"] });
    expect(unknownLoc.statusCode).toBe(422);
    expect((await put("nope", { buffer: 1 })).statusCode).toBe(404);
    expect((await api(t, "GET", "/v1/channels/nope/stock-policy")).statusCode).toBe(404);
    expect((await api(t, "GET", "/v1/inventory/availability?sku=P-1&channel=nope")).statusCode).toBe(404);
    expect(await ok(t, "GET", "/v1/channels/shop/stock-policy")).toMatchObject({
      buffer: 1,
      locations: null,
    });
  });
});
