import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { expectLedgerConsistent, location, ok, product, stock } from "../../test/shop.js";
import { seedDemoPurchasing } from "./demo.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "WH1", 1);
  await location(t, "WH2", 2);
  for (let i = 1; i <= 24; i++) {
    const sku = `DEMO-${String(i).padStart(2, "0")}`;
    await product(t, [sku]);
    if (i % 2) await stock(t, sku, "WH1", 10 + i);
  }
  await product(t, ["DEMO-EBOOK"], { kind: "digital" });
});
afterAll(() => t.close());

describe("seedDemoPurchasing", () => {
  it("creates suppliers, items, open orders, rules and an approved count, leaving the ledger clean", async () => {
    const result = await seedDemoPurchasing(t.db);
    expect(result).toMatchObject({ skipped: false, suppliers: 3, reorderRules: 10 });
    if (result.skipped) return;
    // 24 physical variants, a second source for every fifth
    expect(result.supplierItems).toBe(24 + 5);
    expect(result.purchaseOrders.map((o) => o.status)).toEqual(["submitted", "partially_received", "draft"]);
    const count = await ok(t, "GET", `/v1/counts/${result.countId}`);
    expect(count.status).toBe("approved");
    expect(count.lines).toHaveLength(5);
    const partial = await ok(t, "GET", `/v1/purchase-orders/${result.purchaseOrders[1].id}`);
    expect(partial.receipts).toHaveLength(1);
    const cost = await ok(t, "GET", `/v1/costs?sku=${partial.lines[0].sku}`);
    expect(cost.avg_cost).toBeGreaterThan(0);
    const suggestions = await ok(t, "GET", "/v1/replenishment/suggestions?location=WH1&all=true");
    expect(suggestions.data.length).toBeGreaterThanOrEqual(10);
    expect(await ok(t, "GET", "/v1/reports/inventory-accuracy?location=WH1")).toMatchObject({
      data: [{ location: "WH1", counts: 1, lines_counted: 5 }],
    });
    await expectLedgerConsistent(t);
    expect(await seedDemoPurchasing(t.db)).toEqual({ skipped: true, reason: "suppliers exist already" });
  });
});
