import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import { catchUpOrderFacts, catchUpSalesValue } from "./testing.js";

/**
 * A small shop whose every figure is worked out by hand below:
 * A and B are bought (10 each at 400 and 600), C is stocked without a cost.
 * O1 ships 2 A; one A comes back and is restocked, then O3 sells it again (1 A).
 * O2 orders 4 B, ships 2 and cancels the other 2. O4 (1 A) is cancelled whole.
 * O5 backorders 2 D, which a submitted PO brings in.
 */
let t: TestContext;
const orders: Record<string, { id: number; number: string }> = {};

async function ship(orderId: number, lines?: { sku: string; quantity: number }[]) {
  const f = await ok(t, "POST", `/v1/orders/${orderId}/fulfillments`, lines ? { lines } : {}, 201);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "DHL", tracking_number: `T${f.id}` });
}
async function paid(lines: { sku: string; quantity: number }[]) {
  const body = orderBody(lines);
  const total = body.lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
  return place(t, { ...body, payment: { status: "paid", amount: total } });
}
const report = async (path: string) => (await ok(t, "GET", `/v1/reports/${path}`)).data;

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  await product(t, ["A"]);
  await product(t, ["B"]);
  await product(t, ["C"], { threshold: 5 });
  await product(t, ["D"], { policy: "backorder" });
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme", lead_time_days: 10 }, 201);
  for (const sku of ["A", "B", "D"]) await ok(t, "POST", "/v1/suppliers/ACME/items", { sku, cost: 500 }, 201);
  const po = await ok(
    t,
    "POST",
    "/v1/purchase-orders",
    {
      supplier: "ACME",
      location: "MAIN",
      lines: [
        { sku: "A", quantity: 10, unit_cost: 400 },
        { sku: "B", quantity: 10, unit_cost: 600 },
      ],
    },
    201,
  );
  await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
  await ok(
    t,
    "POST",
    `/v1/purchase-orders/${po.id}/receipts`,
    {
      lines: [
        { sku: "A", quantity: 10 },
        { sku: "B", quantity: 10 },
      ],
    },
    201,
  );
  await stock(t, "C", "MAIN", 3);

  orders.o1 = await paid([{ sku: "A", quantity: 2 }]);
  await ship(orders.o1.id);
  const r = await ok(
    t,
    "POST",
    "/v1/returns",
    { order_id: orders.o1.id, lines: [{ sku: "A", quantity: 1, reason: "does_not_fit" }] },
    201,
  );
  await ok(t, "POST", `/v1/returns/${r.id}/authorize`);
  await ok(t, "POST", `/v1/returns/${r.id}/receive`, { lines: [{ sku: "A", quantity: 1 }] });
  await ok(t, "POST", `/v1/returns/${r.id}/inspect`, {
    lines: [{ sku: "A", quantity: 1, condition: "new", disposition: "restock" }],
  });
  orders.o3 = await paid([{ sku: "A", quantity: 1 }]);
  await ship(orders.o3.id);

  orders.o2 = await paid([{ sku: "B", quantity: 4 }]);
  await ship(orders.o2.id, [{ sku: "B", quantity: 2 }]);
  await ok(t, "POST", `/v1/orders/${orders.o2.id}/cancel`, {
    reason: "customer_request",
    lines: [{ sku: "B", quantity: 2 }],
  });

  orders.o4 = await paid([{ sku: "A", quantity: 1 }]);
  await ok(t, "POST", `/v1/orders/${orders.o4.id}/cancel`, { reason: "fraud_suspected" });

  orders.o5 = await paid([{ sku: "D", quantity: 2 }]);
  const poD = await ok(
    t,
    "POST",
    "/v1/purchase-orders",
    { supplier: "ACME", location: "MAIN", lines: [{ sku: "D", quantity: 5, unit_cost: 500 }] },
    201,
  );
  await ok(t, "POST", `/v1/purchase-orders/${poD.id}/submit`);
  await catchUpSalesValue(t.db);
  await catchUpOrderFacts(t.db);
});
afterAll(() => t.close());

describe("reports on a shop worked out by hand", () => {
  it("order status and aging count every order where it is", async () => {
    const o2 = await ok(t, "GET", `/v1/orders/${orders.o2.id}`);
    expect(o2.status).toBe("shipped");
    const status = await report("order-status");
    const by = Object.fromEntries(status.map((r: any) => [`${r.status}/${r.hold_reason ?? ""}`, r.orders]));
    expect(by).toEqual({ "shipped/": 3, "cancelled/": 1, "backordered/": 1 });
    expect(status.find((r: any) => r.status === "backordered").drill).toBe(
      "/v1/orders?status=backordered&sort=oldest",
    );
    const aging = await report("order-aging");
    expect(aging).toMatchObject([{ status: "backordered", age: "0-24h", orders: 1, overdue: 0 }]);
  });

  it("sales ranking: a returned and re-sold unit is two sales; a partly cancelled line counts what shipped", async () => {
    const best = await report("sales-ranking?by=units");
    expect(best.map((r: any) => [r.sku, r.units, r.revenue, r.cost, r.margin])).toEqual([
      ["A", 3, 3000, 1200, 1800],
      ["B", 2, 2000, 1200, 800],
    ]);
    const least = await report("sales-ranking?by=margin&order=least&limit=3");
    expect(least.map((r: any) => [r.sku, r.margin])).toEqual([
      ["C", 0],
      ["D", 0],
      ["B", 800],
    ]);
    expect(await report("sales-ranking?from=2020-01-01&to=2020-02-01")).toEqual([]);
  });

  it("returns: rates over units shipped, by SKU, reason and channel", async () => {
    expect(await report("returns?by=sku")).toMatchObject([
      { sku: "A", returns: 1, units_returned: 1, units_shipped: 3, return_rate: 0.3333 },
    ]);
    expect(await report("returns?by=reason")).toMatchObject([
      { reason: "does_not_fit", units_returned: 1, units_shipped: 5, return_rate: 0.2 },
    ]);
    expect(await report("returns?by=channel")).toMatchObject([{ channel: "manual", units_shipped: 5 }]);
    expect(await report("returns?from=2020-01-01&to=2020-02-01")).toEqual([]);
  });

  it("cancellations: order and unit rates per channel, orders per reason", async () => {
    expect(await report("cancellations?by=channel")).toMatchObject([
      {
        channel: "manual",
        orders: 5,
        cancelled_orders: 1,
        order_cancellation_rate: 0.2,
        units_ordered: 10,
        units_cancelled: 3,
        unit_cancellation_rate: 0.3,
      },
    ]);
    const byReason = await report("cancellations?by=reason");
    expect(byReason.map((r: any) => [r.reason, r.orders, r.cancelled_whole, r.rate])).toEqual([
      ["customer_request", 1, 0, 0.2],
      ["fraud_suspected", 1, 1, 0.2],
    ]);
  });

  it("fill rate and cycle time count done orders only", async () => {
    // done: O1 (2 of 2), O3 (1 of 1), O2 (2 of 4), O4 (0 of 1); O5 is still open
    expect(await report("fill-rate")).toMatchObject([
      {
        channel: "manual",
        orders: 5,
        units_ordered: 10,
        units_shipped: 5,
        units_cancelled: 3,
        units_backordered: 2,
        done_orders: 4,
        unit_fill_rate: 0.625,
        order_fill_rate: 0.5,
      },
    ]);
    const ct = await report("cycle-time");
    expect(ct.map((r: any) => [r.channel, r.orders])).toEqual([
      ["manual", 3],
      ["all", 3],
    ]);
    expect(ct[1].p50_hours).toBeGreaterThanOrEqual(0);
    expect(ct[1].p90_hours).toBeGreaterThanOrEqual(ct[1].p50_hours);
  });

  it("backorders carry the expected recovery date of the open PO", async () => {
    const po = (await ok(t, "GET", "/v1/purchase-orders?status=submitted")).data[0];
    const rows = await report("backorders");
    expect(rows).toMatchObject([
      { sku: "D", units_backordered: 2, orders: 1, units_incoming: 5, covered_by_incoming: true },
    ]);
    expect(rows[0].expected_recovery).toBe(po.expected_date ?? po.lines[0].expected_date);
    expect(rows[0].expected_recovery).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("stock valuation, aged inventory and critical stock", async () => {
    // A: 10 − 2 + 1 − 1 = 8 at 400; B: 10 − 2 = 8 at 600; C: 3 without a cost
    expect(await report("stock-valuation?location=MAIN")).toMatchObject([
      { location: "MAIN", currency: "EUR", units_on_hand: 16, on_hand_value: 8000, uncosted_units: 0 },
      { location: "MAIN", currency: null, units_on_hand: 3, on_hand_value: null, uncosted_units: 3 },
    ]);
    expect(await report("aged-inventory?location=MAIN")).toMatchObject([
      { location: "MAIN", age: "0-30d", units: 19, value: 8000 },
    ]);
    const critical = await report("critical-stock?location=MAIN");
    expect(critical.find((r: any) => r.sku === "C")).toMatchObject({
      available: 3,
      threshold: 5,
      reasons: ["at_or_below_threshold"],
    });
  });

  it("supplier performance: one receipt on time, lead time about nothing", async () => {
    const rows = await report("supplier-performance");
    expect(rows).toMatchObject([
      { supplier: "ACME", receipts: 1, units_received: 20, on_time: 1, on_time_rate: 1 },
    ]);
    expect(rows[0].lead_time_days_mean).toBeLessThan(1);
    expect(rows[0].lead_time_days_stddev).toBe(0);
  });

  it("answers CSV with one column per field", async () => {
    const res = await api(t, "GET", "/v1/reports/sales-ranking?format=csv");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/csv/);
    const [header, first] = res.body.trim().split("\n");
    expect(header.split(",")).toContain("drill");
    expect(header.split(",")).toContain("computed_at");
    expect(first.startsWith("1,A,")).toBe(true);
  });

  it("refuses bad parameters with problem+json and says why", async () => {
    for (const [url, status] of [
      ["sales-ranking?from=2026-02-01&to=2026-01-01", 400],
      ["sales-ranking?from=2000-01-01&to=2020-01-01", 400],
      ["sales-ranking?by=profit", 400],
      ["returns?by=colour", 400],
      ["stock-valuation?location=NOWHERE", 422],
      ["fill-rate?channel=nope", 422],
      ["order-status?x=1", 400],
    ] as const) {
      const res = await api(t, "GET", `/v1/reports/${url}`);
      expect(res.statusCode, url).toBe(status);
      expect(res.headers["content-type"]).toMatch(/problem\+json/);
    }
  });

  it("sales in several currencies are never added up: name one, or get a 400 that says so", async () => {
    await sql`insert into sales_value_daily (variant_id, channel_id, currency, day, units, revenue, cost)
      select id, 1, 'USD', current_date, 1, 999, 0 from variants where sku = 'A'`.execute(t.db);
    const res = await api(t, "GET", "/v1/reports/sales-ranking");
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain("several currencies (EUR, USD)");
    expect(await report("sales-ranking?currency=USD")).toMatchObject([
      { sku: "A", units: 1, revenue: 999, currency: "USD" },
    ]);
    expect((await report("sales-ranking?currency=EUR"))[0]).toMatchObject({
      sku: "A",
      units: 3,
      revenue: 3000,
    });
    await sql`delete from sales_value_daily where currency = 'USD'`.execute(t.db);
  });

  it("the dashboard answers the first page in one call", async () => {
    const d = await ok(t, "GET", "/v1/dashboard");
    expect(d.queues).toMatchObject([{ queue: "orders:backordered", count: 1 }]);
    expect(d.today).toMatchObject({ orders: 4, revenue: [{ currency: "EUR", amount: 9000, orders: 4 }] });
    expect(d.exceptions).toMatchObject({ orders_on_hold: 0, orders_overdue: 0, backordered_units: 2 });
    expect(d.critical_stock.at_or_below_threshold).toBe(1);
    expect(d.integrations.healthy).toBe(true);
  });
});
