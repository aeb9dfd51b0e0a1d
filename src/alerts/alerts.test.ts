import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { recordFailure, resolveFailure } from "../integrations/monitor/failures.js";
import { orderBody, place } from "../orders/testing.js";
import { checkLedgerDrift, detectAnomalies, evaluateAlerts } from "./evaluate.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  await product(t, ["LOW"], { threshold: 5 });
  await product(t, ["PLAIN"]);
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme", lead_time_days: 10 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "PLAIN", cost: 500 }, 201);
});
afterAll(() => t.close());

const alerts = async (query: string) => (await ok(t, "GET", `/v1/alerts?${query}`)).data;
const openOf = (kind: string) => alerts(`status=open&kind=${kind}`);

describe("alerts open and resolve with their conditions", () => {
  it("low stock → out of stock → restocked: one alert per condition, evidence kept current", async () => {
    await stock(t, "LOW", "MAIN", 10);
    await evaluateAlerts(t.db);
    expect(await openOf("low_stock")).toEqual([]);

    await stock(t, "LOW", "MAIN", 4);
    await evaluateAlerts(t.db);
    await evaluateAlerts(t.db); // a lasting condition is still one alert
    const [low] = await openOf("low_stock");
    expect(await openOf("low_stock")).toHaveLength(1);
    expect(low).toMatchObject({ key: "LOW@MAIN", evidence: { sku: "LOW", available: 4, threshold: 5 } });

    await stock(t, "LOW", "MAIN", 2);
    await evaluateAlerts(t.db);
    expect(await openOf("low_stock")).toMatchObject([{ id: low.id, evidence: { available: 2 } }]);

    await stock(t, "LOW", "MAIN", 0);
    await evaluateAlerts(t.db);
    expect(await openOf("low_stock")).toEqual([]);
    expect(await alerts("status=resolved&kind=low_stock")).toMatchObject([
      { id: low.id, status: "resolved" },
    ]);
    const [out] = await openOf("out_of_stock");
    expect(out).toMatchObject({ key: "LOW@MAIN", evidence: { available: 0 } });

    // acknowledging keeps the first acknowledgement and does not stop it resolving
    const ack = await ok(t, "POST", `/v1/alerts/${out.id}/acknowledge`);
    expect(ack.acknowledged_at).not.toBeNull();
    expect((await ok(t, "POST", `/v1/alerts/${out.id}/acknowledge`)).acknowledged_at).toBe(
      ack.acknowledged_at,
    );
    expect((await api(t, "POST", "/v1/alerts/999999/acknowledge")).statusCode).toBe(404);

    await stock(t, "LOW", "MAIN", 20);
    await evaluateAlerts(t.db);
    expect(await openOf("out_of_stock")).toEqual([]);
    expect(await openOf("low_stock")).toEqual([]);

    // and it can start again: a new alert, the old ones stay resolved
    await stock(t, "LOW", "MAIN", 3);
    await evaluateAlerts(t.db);
    const again = await openOf("low_stock");
    expect(again).toHaveLength(1);
    expect(again[0].id).not.toBe(low.id);

    const events = await sql<{ type: string }>`
      select type from outbox_events where type like 'alert.%' and payload->>'key' = 'LOW@MAIN' order by id`.execute(
      t.db,
    );
    expect(events.rows.map((e) => e.type)).toEqual([
      "alert.opened", // low
      "alert.resolved", // low (the evaluator reconciles low_stock before out_of_stock)
      "alert.opened", // out
      "alert.resolved", // out
      "alert.opened", // low again
    ]);
  });

  it("one open alert per condition is the database's rule", async () => {
    const [open] = await openOf("low_stock");
    await expect(
      sql`insert into alerts (kind, key) values ('low_stock', ${open.key})`.execute(t.db),
    ).rejects.toMatchObject({ code: "23505" });
  });

  it("an overdue order opens order_overdue; cancelling it resolves it", async () => {
    await stock(t, "PLAIN", "MAIN", 10);
    const o = await place(t, orderBody([{ sku: "PLAIN", quantity: 1 }]));
    await evaluateAlerts(t.db);
    expect(await openOf("order_overdue")).toEqual([]);
    await sql`update orders set sla_due_at = now() - interval '1 hour' where id = ${o.id}`.execute(t.db);
    await evaluateAlerts(t.db);
    expect(await openOf("order_overdue")).toMatchObject([
      {
        key: o.number,
        evidence: { order_id: o.id, status: (await ok(t, "GET", `/v1/orders/${o.id}`)).status },
      },
    ]);
    await ok(t, "POST", `/v1/orders/${o.id}/cancel`, { reason: "customer_request" });
    await evaluateAlerts(t.db);
    expect(await openOf("order_overdue")).toEqual([]);
  });

  it("a purchase order past its expected date opens receipt_late until it is received", async () => {
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "ACME", location: "MAIN", lines: [{ sku: "PLAIN", quantity: 5 }] },
      201,
    );
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    await evaluateAlerts(t.db);
    expect(await openOf("receipt_late")).toEqual([]);
    await sql`update purchase_order_lines set expected_date = current_date - 2 where purchase_order_id = ${po.id}`.execute(
      t.db,
    );
    await evaluateAlerts(t.db);
    expect(await openOf("receipt_late")).toMatchObject([
      { key: `po:${po.id}`, evidence: { supplier: "ACME", units_outstanding: 5, skus: ["PLAIN"] } },
    ]);
    await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "PLAIN", quantity: 5 }] },
      201,
    );
    await evaluateAlerts(t.db);
    expect(await openOf("receipt_late")).toEqual([]);
  });

  it("open integration failures of a source are one integration_failing alert", async () => {
    await t.db.transaction().execute(async (tx) => {
      await recordFailure(tx, { source: "webhook", operation: "deliver", subject: "d1", error: "502" });
      await recordFailure(tx, { source: "webhook", operation: "deliver", subject: "d2", error: "timeout" });
    });
    await evaluateAlerts(t.db);
    expect(await openOf("integration_failing")).toMatchObject([
      { key: "webhook", evidence: { source: "webhook", open_failures: 2 } },
    ]);
    await t.db.transaction().execute(async (tx) => {
      await resolveFailure(tx, { source: "webhook", operation: "deliver", subject: "d1" });
    });
    await evaluateAlerts(t.db);
    expect(await openOf("integration_failing")).toMatchObject([{ evidence: { open_failures: 1 } }]);
    await t.db.transaction().execute(async (tx) => {
      await resolveFailure(tx, { source: "webhook", operation: "deliver", subject: "d2" });
    });
    await evaluateAlerts(t.db);
    expect(await openOf("integration_failing")).toEqual([]);
  });

  it("the ledger check turns drift into ledger_drift alerts and resolves them when the balance is right", async () => {
    await checkLedgerDrift(t.db);
    expect(await openOf("ledger_drift")).toEqual([]);
    const row = await sql<{ on_hand: number; variant_id: number; location_id: number }>`
      select il.on_hand, il.variant_id, il.location_id from inventory_levels il join variants v on v.id = il.variant_id
      where v.sku = 'PLAIN'`.execute(t.db);
    const { on_hand, variant_id, location_id } = row.rows[0];
    await sql`update inventory_levels set on_hand = on_hand + 7 where variant_id = ${variant_id} and location_id = ${location_id}`.execute(
      t.db,
    );
    await checkLedgerDrift(t.db);
    expect(await openOf("ledger_drift")).toMatchObject([
      { key: "PLAIN@MAIN/on_hand", evidence: { balance: on_hand + 7, ledger_sum: on_hand } },
    ]);
    await sql`update inventory_levels set on_hand = ${on_hand} where variant_id = ${variant_id} and location_id = ${location_id}`.execute(
      t.db,
    );
    await checkLedgerDrift(t.db);
    expect(await openOf("ledger_drift")).toEqual([]);
  });

  it("refuses unknown kinds and statuses", async () => {
    expect((await api(t, "GET", "/v1/alerts?kind=fire")).statusCode).toBe(400);
    expect((await api(t, "GET", "/v1/alerts?status=maybe")).statusCode).toBe(400);
  });
});

describe("anomaly alerts on daily series", () => {
  it("an order volume far outside its weekday band opens an anomaly naming the series, day and band; a normal day resolves it", async () => {
    const day = "2026-06-30"; // a Tuesday
    // 56 days of 8–12 orders a day on channel 'manual' before it, constructed directly
    await sql`
      insert into orders (channel_id, status, currency, customer_email, shipping_address, subtotal, total, placed_at, sla_due_at, actor)
      select 1, 'completed', 'EUR', 'a@b.c', '{}'::jsonb, 100, 100, d + interval '12 hours', d + interval '2 days', 'test'
      from generate_series(${day}::date - 56, ${day}::date - 1, interval '1 day') as d,
        generate_series(1, 8 + (extract(doy from d)::int % 5)) as n`.execute(t.db);
    const spike = sql`
      insert into orders (channel_id, status, currency, customer_email, shipping_address, subtotal, total, placed_at, sla_due_at, actor)
      select 1, 'completed', 'EUR', 'a@b.c', '{}'::jsonb, 100, 100, ${day}::date + interval '13 hours', ${day}::date + interval '2 days', 'test'
      from generate_series(1, 60)`;
    await spike.execute(t.db);
    await detectAnomalies(t.db, day);
    const [a] = await openOf("anomaly");
    expect(a).toMatchObject({
      key: "orders:channel=manual",
      evidence: { series: "orders:channel=manual", day, value: 60 },
    });
    expect(a.evidence.expected).toBeGreaterThanOrEqual(8);
    expect(a.evidence.expected).toBeLessThanOrEqual(12);
    expect(a.evidence.high).toBeLessThan(60);
    expect((await openOf("anomaly")).map((x: { key: string }) => x.key)).toEqual(["orders:channel=manual"]);
    // the next day is ordinary: the anomaly resolves
    await sql`
      insert into orders (channel_id, status, currency, customer_email, shipping_address, subtotal, total, placed_at, sla_due_at, actor)
      select 1, 'completed', 'EUR', 'a@b.c', '{}'::jsonb, 100, 100, ${day}::date + interval '1 day 12 hours', ${day}::date + interval '3 days', 'test'
      from generate_series(1, 10)`.execute(t.db);
    await detectAnomalies(t.db, "2026-07-01");
    expect(await openOf("anomaly")).toEqual([]);
  });
});
