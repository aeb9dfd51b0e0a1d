import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, expectLedgerConsistent, level, location, ok, product, stock } from "../../test/shop.js";

let t: TestContext;
const WEEKLY = [1.0, 0.8, 0.9, 1.0, 1.3, 1.8, 1.6];

beforeAll(async () => {
  t = await testApp();
  await location(t, "STORE", 1);
  for (const sku of ["ROPE", "PAINT", "BRUSH", "TAPE", "GLUE"]) await product(t, [sku]);
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme", lead_time_days: 7 }, 201);
  await ok(t, "POST", "/v1/suppliers", { code: "BRUSHCO", name: "Brush Co", lead_time_days: 7 }, 201);
  await ok(
    t,
    "POST",
    "/v1/suppliers/ACME/items",
    { sku: "ROPE", cost: 300, min_order_qty: 10, pack_size: 6 },
    201,
  );
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "PAINT", cost: 900, pack_size: 4 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "BRUSH", cost: 500, priority: 200 }, 201);
  await ok(
    t,
    "POST",
    "/v1/suppliers/BRUSHCO/items",
    { sku: "BRUSH", cost: 450, min_order_qty: 24, pack_size: 12, priority: 10 },
    201,
  );
  await stock(t, "ROPE", "STORE", 3);
  await stock(t, "PAINT", "STORE", 5);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

/**
 * Eight weeks of past daily sales of `sku` at STORE, written as the ledger
 * would have them (an opening balance, then one `sale` movement a day), with
 * the balance to match, so the audit stays clean.
 */
async function salesHistory(sku: string, daily: (day: number) => number, days = 56, left = 20) {
  const v = await t.db.selectFrom("variants").select("id").where("sku", "=", sku).executeTakeFirstOrThrow();
  const l = await t.db
    .selectFrom("locations")
    .select("id")
    .where("code", "=", "STORE")
    .executeTakeFirstOrThrow();
  const sold = Array.from({ length: days }, (_, i) => daily(i));
  const total = sold.reduce((a, b) => a + b, 0);
  const start = sql`(now() at time zone 'UTC')::date - ${days}::int`;
  await sql`insert into inventory_levels (variant_id, location_id, on_hand) values (${v.id}, ${l.id}, ${left})`.execute(
    t.db,
  );
  await sql`insert into inventory_movements (variant_id, location_id, bucket, delta, reason, actor, created_at)
    values (${v.id}, ${l.id}, 'on_hand', ${total + left}, 'initial', 'test', (${start} - 1)::timestamp at time zone 'UTC')`.execute(
    t.db,
  );
  await sql`insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor, created_at)
    select ${v.id}, ${l.id}, 'on_hand', -q, 'sale', 'order:test', 'test',
           (${start} + d)::timestamp at time zone 'UTC' + interval '12 hours'
    from unnest(${sold}::int[]) with ordinality as s(q, d1), lateral (select (d1 - 1)::int as d) x
    where q > 0`.execute(t.db);
}

describe("reorder rules", () => {
  it("creates, replaces, lists and deletes rules; refuses bad ones", async () => {
    const created = await api(t, "POST", "/v1/reorder-rules", {
      sku: "TAPE",
      location: "STORE",
      reorder_point: 2,
      max: 9,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      kind: "min_max",
      reorder_point: 2,
      max: 9,
      reorder_quantity: null,
    });
    const replaced = await api(t, "POST", "/v1/reorder-rules", {
      sku: "TAPE",
      location: "STORE",
      reorder_point: 3,
      reorder_quantity: 5,
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({
      id: created.json().id,
      kind: "reorder_point",
      max: null,
      reorder_quantity: 5,
    });
    const cases: [unknown, number, string][] = [
      [{ sku: "TAPE", location: "STORE", reorder_point: 3 }, 400, "reorder_quantity"],
      [
        { sku: "TAPE", location: "STORE", reorder_point: 3, max: 5, reorder_quantity: 2 },
        400,
        "reorder_quantity",
      ],
      [{ sku: "TAPE", location: "STORE", reorder_point: 6, max: 5 }, 400, "max"],
      [{ sku: "TAPE", location: "STORE", reorder_point: -1, max: 5 }, 400, "reorder_point"],
      [{ sku: "NOPE", location: "STORE", reorder_point: 1, max: 5 }, 422, "sku"],
      [{ sku: "TAPE", location: "MOON", reorder_point: 1, max: 5 }, 422, "location"],
      [{ sku: "TAPE", location: "STORE", reorder_point: 1, max: 5, supplier: "NOBODY" }, 422, "supplier"],
    ];
    for (const [body, status, field] of cases) {
      const res = await api(t, "POST", "/v1/reorder-rules", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(JSON.stringify(res.json().errors)).toContain(field);
    }
    expect((await ok(t, "GET", "/v1/reorder-rules?location=STORE")).data).toHaveLength(1);
    await ok(t, "DELETE", `/v1/reorder-rules/${created.json().id}`);
    expect((await ok(t, "GET", "/v1/reorder-rules?sku=TAPE")).data).toEqual([]);
    expect((await api(t, "DELETE", `/v1/reorder-rules/${created.json().id}`)).statusCode).toBe(404);
  });
});

describe("suggestions", () => {
  it("min/max orders up to max, rounded to MOQ and pack; reorder point orders its quantity", async () => {
    await ok(
      t,
      "POST",
      "/v1/reorder-rules",
      { sku: "ROPE", location: "STORE", reorder_point: 5, max: 20 },
      201,
    );
    await ok(
      t,
      "POST",
      "/v1/reorder-rules",
      { sku: "PAINT", location: "STORE", reorder_point: 8, reorder_quantity: 10 },
      201,
    );
    const res = await ok(t, "GET", "/v1/replenishment/suggestions?location=STORE");
    const bySku = Object.fromEntries(res.data.map((s: { sku: string }) => [s.sku, s]));
    expect(bySku.ROPE).toMatchObject({
      method: "min_max",
      quantity: 18,
      raw_quantity: 17,
      supplier: "ACME",
      unit_cost: 300,
      inputs: {
        on_hand: 3,
        available: 3,
        incoming: 0,
        position: 3,
        rule: { kind: "min_max", max: 20 },
        forecast: null,
      },
      rounding: { min_order_qty: 10, pack_size: 6, from: 17, to: 18 },
    });
    expect(bySku.ROPE.explanation).toMatch(/below the minimum 5: order up to the maximum 20/);
    expect(bySku.PAINT).toMatchObject({ method: "reorder_point", raw_quantity: 10, quantity: 12 });

    // once ordered, the incoming units cover the rule
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "ACME", location: "STORE", lines: [{ sku: "ROPE", quantity: 18 }] },
      201,
    );
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const after = await ok(t, "GET", "/v1/replenishment/suggestions?location=STORE&sku=ROPE&all=true");
    expect(after.data).toMatchObject([{ sku: "ROPE", quantity: 0, inputs: { incoming: 18, position: 21 } }]);
    expect((await ok(t, "GET", "/v1/replenishment/suggestions?location=STORE&sku=ROPE")).data).toEqual([]);
  });

  it("forecasts SKUs without rules from daily sales, showing every input", async () => {
    // 10 a day on an average weekday shape, for 8 weeks; 20 left
    await salesHistory("BRUSH", (d) => Math.round(10 * WEEKLY[d % 7]));
    const res = await ok(t, "GET", "/v1/replenishment/suggestions?location=STORE&sku=BRUSH");
    const s = res.data[0];
    expect(s).toMatchObject({
      method: "forecast",
      supplier: "BRUSHCO",
      lead_time_days: 7,
      inputs: { available: 20, rule: null },
    });
    const f = s.inputs.forecast;
    expect(f).toMatchObject({ model: "mstl_ets_weekly", history_days: 56, service_level: 0.95, z: 1.6449 });
    // a week of this pattern sells 84
    expect(f.demand_over_lead_time).toBeGreaterThan(80);
    expect(f.demand_over_lead_time).toBeLessThan(88);
    expect(f.daily_demand).toBeCloseTo(f.demand_over_lead_time / 7, 1);
    expect(f.safety_stock).toBeCloseTo(1.6449 * f.sigma * Math.sqrt(7), 1);
    expect(s.raw_quantity).toBeCloseTo(f.demand_over_lead_time + f.safety_stock - 20, 1);
    // MOQ 24, packs of 12
    expect(s.quantity % 12).toBe(0);
    expect(s.quantity).toBeGreaterThanOrEqual(Math.max(24, Math.ceil(s.raw_quantity)));
    expect(s.quantity - 12).toBeLessThan(Math.ceil(s.raw_quantity));
    expect(s.explanation).toMatch(/forecast .*\/day .* lead time 7 days/);

    const strict = await ok(
      t,
      "GET",
      "/v1/replenishment/suggestions?location=STORE&sku=BRUSH&service_level=0.99",
    );
    expect(strict.data[0].inputs.forecast.z).toBeCloseTo(2.3263, 4);
    // TAPE and GLUE neither sold nor have a rule: nothing to say about them
    expect(res.data.map((x: { sku: string }) => x.sku)).toEqual(["BRUSH"]);
    const bad = await api(t, "GET", "/v1/replenishment/suggestions?location=STORE&service_level=1.5");
    expect(bad.statusCode).toBe(400);
    expect((await api(t, "GET", "/v1/replenishment/suggestions?location=MOON")).statusCode).toBe(422);
    expect((await api(t, "GET", "/v1/replenishment/suggestions")).statusCode).toBe(400);
  });

  it("turns accepted suggestions into draft orders grouped by supplier, once per idempotency key", async () => {
    const before = await t.db
      .selectFrom("purchase_orders")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    const refused = await api(t, "POST", "/v1/replenishment/purchase-orders", {
      suggestions: [
        { sku: "PAINT", location: "STORE", quantity: 12 },
        { sku: "GLUE", location: "STORE", quantity: 5 },
        { sku: "PAINT", location: "STORE", quantity: 4, supplier: "BRUSHCO" },
      ],
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().errors.map((e: { path: string }) => e.path)).toEqual([
      "body.suggestions.1.supplier",
      "body.suggestions.2.sku",
    ]);
    const body = {
      suggestions: [
        { sku: "PAINT", location: "STORE", quantity: 12 },
        { sku: "BRUSH", location: "STORE", quantity: 72 },
        { sku: "ROPE", location: "STORE", quantity: 6, supplier: "ACME" },
      ],
    };
    const key = { "idempotency-key": "accept-1" };
    const res = await api(t, "POST", "/v1/replenishment/purchase-orders", body, key);
    expect(res.statusCode).toBe(201);
    const orders = res.json().purchase_orders;
    expect(orders.map((o: { supplier: string; status: string }) => [o.supplier, o.status])).toEqual([
      ["ACME", "draft"],
      ["BRUSHCO", "draft"],
    ]);
    expect(
      orders[0].lines.map((l: { sku: string; quantity: number; unit_cost: number }) => [
        l.sku,
        l.quantity,
        l.unit_cost,
      ]),
    ).toEqual([
      ["PAINT", 12, 900],
      ["ROPE", 6, 300],
    ]);
    expect(orders[1].lines).toMatchObject([{ sku: "BRUSH", quantity: 72, unit_cost: 450 }]);
    const again = await api(t, "POST", "/v1/replenishment/purchase-orders", body, key);
    expect(again.json()).toEqual(res.json());
    const after = await t.db
      .selectFrom("purchase_orders")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(2);
    // drafts do not change stock
    expect((await level(t, "PAINT", "STORE"))?.incoming).toBe(0);
  });
});
