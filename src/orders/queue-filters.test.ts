import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";

// The admin app's order list filters by payment status and by the location holding the stock.
describe("GET /v1/orders ?payment_status= &location=", () => {
  let t: TestContext;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    t = await testApp();
    await location(t, "NORTH", 10);
    await location(t, "SOUTH", 20);
    await product(t, ["ONLY-N"]);
    await product(t, ["ONLY-S"]);
    await stock(t, "ONLY-N", "NORTH", 5);
    await stock(t, "ONLY-S", "SOUTH", 5);
    const place = async (name: string, sku: string) => {
      const o = await ok(
        t,
        "POST",
        "/v1/orders",
        {
          currency: "EUR",
          external_id: name,
          lines: [{ sku, quantity: 1, unit_price: 1000 }],
          customer: { email: `${name}@example.com` },
          shipping_address: { country: "DE", city: "Berlin", line1: "Str. 1", postal_code: "10115" },
        },
        201,
      );
      ids[name] = o.id;
      return o;
    };
    const north = await place("north", "ONLY-N");
    await place("south", "ONLY-S");
    await ok(t, "POST", `/v1/orders/${north.id}/payments`, { status: "paid", amount: north.total }, 201);
  });
  afterAll(() => t?.close());

  const list = async (q: string) =>
    ((await ok(t, "GET", `/v1/orders?${q}`)).data as { id: number }[]).map((o) => o.id).sort();

  it("filters by payment status", async () => {
    expect(await list("payment_status=paid")).toEqual([ids.north]);
    expect(await list("payment_status=pending")).toEqual([ids.south]);
    expect(await list("payment_status=refunded")).toEqual([]);
  });

  it("filters by the location holding the order's stock, combined with other filters", async () => {
    expect(await list("location=NORTH")).toEqual([ids.north]);
    expect(await list("location=SOUTH")).toEqual([ids.south]);
    expect(await list("location=SOUTH&payment_status=paid")).toEqual([]);
  });

  it("rejects an unknown payment status with a 400 that names the field", async () => {
    const res = await api(t, "GET", "/v1/orders?payment_status=maybe");
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toContain("payment_status");
  });
});
