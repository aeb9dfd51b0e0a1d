import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, expectLedgerConsistent, level, ok, product, stock } from "../../test/shop.js";
import { onStockArrival } from "../inventory/arrivals.js";
import { draft, purchasingShop, rowCounts } from "./testing.js";

let t: TestContext;
/** Every stockArrived call, as the orders module would see it. */
const arrivals: { variantId: number; locationId: number }[][] = [];
onStockArrival(async (_tx, arrived) => {
  arrivals.push(arrived);
});

beforeAll(async () => {
  t = await testApp();
  await purchasingShop(t);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

describe("receiving", () => {
  it("refuses over-receipt unless allowed; allowed extra goes straight to on_hand", async () => {
    const po = await draft(t, [
      { sku: "WASHER", quantity: 5, unit_cost: 50 },
      { sku: "NUT", quantity: 2, allow_over_receipt: true },
    ]);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const before = await rowCounts(t);
    const washer = await level(t, "WASHER", "MAIN");
    const over = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
      lines: [{ sku: "WASHER", quantity: 6 }],
    });
    expect(over.statusCode).toBe(422);
    expect(over.json().errors).toEqual([
      { path: "body.lines.0.quantity", message: expect.stringMatching(/only 5 of WASHER outstanding/) },
    ]);
    expect(await rowCounts(t)).toEqual(before);
    expect(await level(t, "WASHER", "MAIN")).toEqual(washer);

    const nut = await level(t, "NUT", "MAIN");
    const extra = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "NUT", quantity: 3 }] },
      201,
    );
    expect(extra.lines).toMatchObject([{ sku: "NUT", quantity: 3, over_received: 1 }]);
    expect(await level(t, "NUT", "MAIN")).toMatchObject({
      on_hand: (nut?.on_hand ?? 0) + 3,
      incoming: (nut?.incoming ?? 0) - 2,
    });
  });

  it("receives into quarantine where the location inspects, without announcing sellable stock", async () => {
    await ok(t, "POST", "/v1/receiving-settings", { location: "QC", inspect: true });
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "ACME", location: "QC", lines: [{ sku: "BOLT", quantity: 8 }] },
      201,
    );
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    arrivals.length = 0;
    const r = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "BOLT", quantity: 8 }] },
      201,
    );
    expect(r.bucket).toBe("quarantine");
    expect(await level(t, "BOLT", "QC")).toMatchObject({ on_hand: 0, quarantine: 8, incoming: 0 });
    expect(arrivals).toEqual([]);
    const settings = await ok(t, "GET", "/v1/receiving-settings");
    expect(settings.data).toContainEqual({ location: "QC", inspect: true, allow_over_receipt: false });
  });

  it("replays receipts with the same Idempotency-Key and receives concurrent receipts at most once", async () => {
    const po = await draft(t, [{ sku: "BOLT", quantity: 5 }]);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const body = { lines: [{ sku: "BOLT", quantity: 1 }] };
    const key = { "idempotency-key": `receipt-${po.id}` };
    const first = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body, key);
    const second = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body, key);
    expect(first.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers["idempotent-replayed"]).toBe("true");
    const other = await api(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "BOLT", quantity: 2 }] },
      key,
    );
    expect(other.statusCode).toBe(422);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body)),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(4);
    expect(results.filter((r) => r.statusCode !== 201).every((r) => r.statusCode === 409)).toBe(true);
    const final = await ok(t, "GET", `/v1/purchase-orders/${po.id}`);
    expect(final).toMatchObject({ status: "received", lines: [{ received: 5, outstanding: 0 }] });
    expect(final.receipts).toHaveLength(5);
  });
});

describe("costing", () => {
  it("moves the average by receipts, with freight and duty spread by value", async () => {
    await product(t, ["GEAR"]);
    await product(t, ["AXLE"]);
    await stock(t, "GEAR", "MAIN", 10);
    const po = await draft(t, [
      { sku: "GEAR", quantity: 10, unit_cost: 1000 },
      { sku: "AXLE", quantity: 5, unit_cost: 2000 },
    ]);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const r1 = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      {
        lines: [
          { sku: "GEAR", quantity: 5 },
          { sku: "AXLE", quantity: 5 },
        ],
        freight: 300,
        duty: 100,
      },
      201,
    );
    // values 5000 and 10000: 400 splits 133/267 by largest remainder
    expect(r1.lines.map((l: { landed_cost: number }) => l.landed_cost)).toEqual([133, 267]);
    // GEAR had 10 on hand without a cost: the receipt's landed cost becomes the average
    expect(r1.lines.map((l: { avg_cost_after: number }) => l.avg_cost_after)).toEqual([1027, 2053]);
    const r2 = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "GEAR", quantity: 5, unit_cost: 1300 }] },
      201,
    );
    // old: 15 on hand at 1026.6; new: 5 at 1300 → (1026.6 × 15 + 1300 × 5) / 20 = 1094.95
    const cost = await ok(t, "GET", "/v1/costs?sku=GEAR");
    expect(cost.avg_cost_exact).toBeCloseTo(1094.95, 6);
    expect(cost.avg_cost).toBe(1095);
    expect(r2.lines[0].avg_cost_after).toBe(1095);
    expect(
      cost.history.map((h: { old_quantity: number; quantity: number }) => [h.old_quantity, h.quantity]),
    ).toEqual([
      [15, 5],
      [10, 5],
    ]);
    const events = await t.db
      .selectFrom("outbox_events")
      .select("type")
      .where("type", "=", "variant_cost.changed")
      .execute();
    expect(events.length).toBeGreaterThanOrEqual(3);
  });
});
