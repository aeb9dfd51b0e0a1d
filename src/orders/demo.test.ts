import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { seedDemoOrders } from "./demo.js";
import { expectConsistent } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1, "DE");
  await location(t, "NORTH", 2, "SE");
  for (const sku of ["D-1", "D-2", "D-3", "D-4"]) {
    await product(t, [sku]);
    await stock(t, sku, "MAIN", 40);
    await stock(t, sku, "NORTH", 10);
  }
  await product(t, ["D-PRE"], { policy: "preorder" });
});
afterAll(() => t.close());

const EVERY_STATE = [
  "received",
  "on_hold",
  "approved",
  "backordered",
  "preparing",
  "partially_shipped",
  "shipped",
  "completed",
  "cancelled",
];

describe("demo orders", () => {
  it("are made in every state through the services, leaving the ledger exact", async () => {
    const before = await ok(t, "GET", "/v1/settings/orders");
    const result = await seedDemoOrders(t.db, { count: 22 });
    expect(result.missing).toEqual([]);
    expect(result.created).toBe(22);
    expect(Object.keys(result.byStatus).sort()).toEqual([...EVERY_STATE].sort());
    const held = await ok(t, "GET", "/v1/orders?status=on_hold&limit=100");
    expect(
      new Set(
        held.data.flatMap((o: { hold_reasons: { code: string }[] }) => o.hold_reasons.map((r) => r.code)),
      ),
    ).toEqual(new Set(["fraud", "address", "manual"]));
    expect(await ok(t, "GET", "/v1/settings/orders")).toEqual(before);
    await expectConsistent(t);
    // a second run adds more, with channel order ids of its own
    const again = await seedDemoOrders(t.db);
    expect(again.missing).toEqual([]);
    await expectConsistent(t);
  });

  it("says what it could not make on a shop without stock", async () => {
    const empty = await testApp();
    try {
      const result = await seedDemoOrders(empty.db);
      expect(result.created).toBe(0);
      expect(result.missing).toEqual(expect.arrayContaining(EVERY_STATE));
    } finally {
      await empty.close();
    }
  });
});
