import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, expectLedgerConsistent, location, ok, product, stock } from "../../test/shop.js";
import { forecastDemand } from "./forecast.js";
import { addDays, dailySalesFromLedger, utcToday } from "./history.js";
import { inverseNormalCdf } from "./normal.js";
import { roundToOrder } from "./rounding.js";
import { refreshForecasts, runningTotals } from "./stored-forecasts.js";
import type { Suggestion } from "./suggestions.js";
import { catchUpSales, recordSales } from "./testing.js";

let t: TestContext;
let storeId: number;
const WEEKLY = [1.0, 0.8, 0.9, 1.0, 1.3, 1.8, 1.6];
const SKUS = ["SAIL", "ROPE", "HOOK", "FLAG", "BUOY"];

beforeAll(async () => {
  t = await testApp();
  await location(t, "STORE");
  storeId = (
    await t.db.selectFrom("locations").select("id").where("code", "=", "STORE").executeTakeFirstOrThrow()
  ).id;
  for (const sku of SKUS) await product(t, [sku]);
  await ok(
    t,
    "POST",
    "/v1/suppliers",
    { code: "ACME", name: "Acme", lead_time_days: 7, currency: "EUR" },
    201,
  );
  await ok(
    t,
    "POST",
    "/v1/suppliers/ACME/items",
    { sku: "SAIL", cost: 900, min_order_qty: 24, pack_size: 12 },
    201,
  );
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "ROPE", cost: 300, lead_time_days: 3 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "HOOK", cost: 100, pack_size: 5 }, 201);
  // FLAG: nobody sells it (default lead time); BUOY: follows a rule
  await ok(
    t,
    "POST",
    "/v1/reorder-rules",
    { sku: "BUOY", location: "STORE", reorder_point: 5, max: 30 },
    201,
  );
  await stock(t, "SAIL", "STORE", 20);
  await stock(t, "HOOK", "STORE", 200);
  // eight weeks of a weekly pattern; ten days of steady sales; a sale now and then; a month of a few
  await recordSales(
    t.db,
    "SAIL",
    "STORE",
    Array.from({ length: 56 }, (_, i) => [56 - i, Math.round(10 * WEEKLY[i % 7])]),
  );
  await recordSales(
    t.db,
    "ROPE",
    "STORE",
    Array.from({ length: 10 }, (_, i) => [10 - i, 3 + (i % 3)]),
  );
  await recordSales(
    t.db,
    "HOOK",
    "STORE",
    Array.from({ length: 80 }, (_, i) => [80 - i, i % 9 === 0 ? 2 : 0]),
  );
  await recordSales(
    t.db,
    "FLAG",
    "STORE",
    Array.from({ length: 30 }, (_, i) => [30 - i, 1 + (i % 2)]),
  );
  await recordSales(t.db, "BUOY", "STORE", [
    [3, 4],
    [2, 4],
  ]);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

async function suggestions(query = "all=true&limit=500") {
  return ok<{ data: Suggestion[]; next_cursor: string | null; forecasts: Record<string, number> }>(
    t,
    "GET",
    `/v1/replenishment/suggestions?location=STORE&${query}`,
  );
}

const bySku = (list: Suggestion[]) => Object.fromEntries(list.map((s) => [s.sku, s]));
const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The suggestion worked out independently of the rollup and the stored
 * forecasts: the daily series straight from the ledger, the model fitted
 * now, and the maths of docs/purchasing.md.
 */
async function byHand(s: Suggestion) {
  const today = await utcToday(t.db);
  const v = await t.db.selectFrom("variants").select("id").where("sku", "=", s.sku).executeTakeFirstOrThrow();
  const history = (await dailySalesFromLedger(t.db, storeId, 91, today)).get(v.id) ?? [];
  const lead = s.lead_time_days;
  const f = forecastDemand(history, lead);
  const demand = f.points.reduce((a, b) => a + b, 0);
  const safety = inverseNormalCdf(0.95) * f.sigma * Math.sqrt(lead);
  const raw = demand + safety - s.inputs.position;
  return {
    quantity: roundToOrder(raw, s.rounding.min_order_qty, s.rounding.pack_size),
    raw_quantity: round2(raw),
    inputs: {
      forecast: {
        model: f.model,
        history_days: f.historyDays,
        daily_demand: round2(demand / lead),
        demand_over_lead_time: round2(demand),
        sigma: round2(f.sigma),
        safety_stock: round2(safety),
      },
    },
  };
}

async function expectByHand(s: Suggestion) {
  expect(s, s.sku).toMatchObject(await byHand(s));
}

/** A suggestion without what says where its forecast came from. */
function maths(s: Suggestion) {
  const { explanation: _, ...rest } = s;
  const {
    source: _s,
    computed_at: _c,
    ...forecast
  } = s.inputs.forecast ?? { source: null, computed_at: null };
  return { ...rest, inputs: { ...s.inputs, forecast } };
}

const forecastRows = async () =>
  (
    await sql<{ sku: string; stale: boolean; as_of: string; computed_at: Date; points: number }>`
      select v.sku, f.stale, f.as_of::text as as_of, f.computed_at, cardinality(f.points) as points
      from demand_forecasts f join variants v on v.id = f.variant_id order by v.sku`.execute(t.db)
  ).rows;

describe("stored forecasts", () => {
  it("give the same suggestions as forecasts made on the fly from the same sales", async () => {
    const live = await suggestions();
    const forecast = live.data.filter((s) => s.method === "forecast");
    expect(forecast.map((s) => s.sku).sort()).toEqual(["FLAG", "HOOK", "ROPE", "SAIL"]);
    expect(forecast.every((s) => s.status === "ready" && s.inputs.forecast?.source === "computed_now")).toBe(
      true,
    );
    expect(live.forecasts).toEqual({ stored: 0, computed_now: 4, pending: 0 });

    await catchUpSales(t.db);
    expect(await refreshForecasts(t.db, { budgetMs: 60_000 })).toBe(4);
    // the SKU with a rule gets none; the others look 28 days ahead at least
    const rows = await forecastRows();
    expect(rows.map((r) => r.sku)).toEqual(["FLAG", "HOOK", "ROPE", "SAIL"]);
    expect(rows.every((r) => !r.stale && r.as_of === rows[0].as_of && r.points === 28)).toBe(true);
    // nothing left to do
    expect(await refreshForecasts(t.db, { budgetMs: 60_000 })).toBe(0);

    const stored = await suggestions();
    expect(stored.forecasts).toEqual({ stored: 4, computed_now: 0, pending: 0 });
    const today = await utcToday(t.db);
    for (const s of stored.data.filter((x) => x.method === "forecast")) {
      expect(s.inputs.forecast).toMatchObject({ source: "stored", history_through: addDays(today, -1) });
      expect(s.explanation).toMatch(/, made \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
      await expectByHand(s);
    }
    expect(stored.data.map(maths)).toEqual(live.data.map(maths));
    expect(bySku(stored.data).SAIL).toMatchObject({ supplier: "ACME", lead_time_days: 7 });
    expect(bySku(stored.data).SAIL.quantity % 12).toBe(0);
    expect(bySku(stored.data).ROPE.lead_time_days).toBe(3);
    expect(bySku(stored.data).FLAG).toMatchObject({ supplier: null, lead_time_days: 14 });
  });

  it("are made again when sales for the days they saw arrive late; sales of today wait for tomorrow", async () => {
    const [before] = (await forecastRows()).filter((r) => r.sku === "ROPE");
    // a shipment from two days ago is booked only now
    await recordSales(t.db, "ROPE", "STORE", [[2, 9]]);
    const now = (await suggestions("sku=ROPE&all=true")).data[0];
    expect(now.inputs.forecast?.source).toBe("computed_now");
    await expectByHand(now);

    await catchUpSales(t.db);
    expect((await forecastRows()).find((r) => r.sku === "ROPE")?.stale).toBe(true);
    expect((await suggestions("sku=ROPE&all=true")).data[0].inputs.forecast?.source).toBe("computed_now");
    expect(await refreshForecasts(t.db, { budgetMs: 60_000 })).toBe(1);
    const [after] = (await forecastRows()).filter((r) => r.sku === "ROPE");
    expect(after.stale).toBe(false);
    expect(after.computed_at.getTime()).toBeGreaterThan(before.computed_at.getTime());
    const again = (await suggestions("sku=ROPE&all=true")).data[0];
    expect(again.inputs.forecast?.source).toBe("stored");
    expect(maths(again)).toEqual(maths(now));

    // today's sales are not in any forecast until the day is complete
    await recordSales(t.db, "ROPE", "STORE", [[0, 50]]);
    await catchUpSales(t.db);
    expect((await forecastRows()).find((r) => r.sku === "ROPE")?.stale).toBe(false);
    const today = (await suggestions("sku=ROPE&all=true")).data[0];
    expect(today.inputs.forecast?.source).toBe("stored");
    await expectByHand(today);
  });

  it("from yesterday are used until the job has made today's; older ones are not", async () => {
    const today = await utcToday(t.db);
    await sql`update demand_forecasts set as_of = as_of - 1
              where variant_id = (select id from variants where sku = 'SAIL')`.execute(t.db);
    const yesterdays = (await suggestions("sku=SAIL&all=true")).data[0];
    expect(yesterdays.inputs.forecast).toMatchObject({
      source: "stored",
      history_through: addDays(today, -2),
    });

    await sql`update demand_forecasts set as_of = as_of - 1
              where variant_id = (select id from variants where sku = 'SAIL')`.execute(t.db);
    const older = (await suggestions("sku=SAIL&all=true")).data[0];
    expect(older.inputs.forecast).toMatchObject({
      source: "computed_now",
      history_through: addDays(today, -1),
    });

    expect(await refreshForecasts(t.db, { budgetMs: 60_000 })).toBe(1);
    const remade = (await suggestions("sku=SAIL&all=true")).data[0];
    expect(remade.inputs.forecast).toMatchObject({ source: "stored", history_through: addDays(today, -1) });
    expect(maths(remade)).toEqual(maths(older));
  });

  it("are made again when a supplier quotes a lead time longer than they look ahead", async () => {
    await ok(t, "POST", "/v1/suppliers/ACME/items", {
      sku: "HOOK",
      cost: 100,
      pack_size: 5,
      lead_time_days: 40,
    });
    const long = (await suggestions("sku=HOOK&all=true")).data[0];
    expect(long).toMatchObject({ lead_time_days: 40, inputs: { forecast: { source: "computed_now" } } });
    await expectByHand(long);
    expect(await refreshForecasts(t.db, { budgetMs: 60_000 })).toBe(1);
    expect((await forecastRows()).find((r) => r.sku === "HOOK")?.points).toBe(40);
    const stored = (await suggestions("sku=HOOK&all=true")).data[0];
    expect(stored.inputs.forecast?.source).toBe("stored");
    expect(maths(stored)).toEqual(maths(long));
  });

  it("are made for at most live_forecast_limit SKUs per request; the others are listed as pending", async () => {
    await sql`insert into settings (key, value) values ('replenishment', '{"live_forecast_limit": 1}')
              on conflict (key) do update set value = excluded.value`.execute(t.db);
    try {
      await sql`delete from demand_forecasts`.execute(t.db);
      const res = await suggestions("limit=500");
      expect(res.forecasts).toEqual({ stored: 0, computed_now: 1, pending: 3 });
      const pending = res.data.filter((s) => s.status === "forecast_pending");
      expect(pending).toHaveLength(3);
      for (const s of pending) {
        expect(s).toMatchObject({
          method: "forecast",
          quantity: 0,
          coverage: null,
          inputs: { forecast: null },
        });
        expect(s.explanation).toMatch(/no forecast yet/);
      }
      // the one made now is the SKU with the least stock; pending ones come after SKUs to order
      const ready = res.data.filter((s) => s.status === "ready");
      expect(res.data.slice(0, ready.length)).toEqual(ready);
      // asked for alone, a SKU always gets its forecast
      const one = (await suggestions("sku=HOOK&all=true")).data[0];
      expect(one).toMatchObject({ status: "ready", inputs: { forecast: { source: "computed_now" } } });

      expect(await refreshForecasts(t.db, { budgetMs: 60_000 })).toBe(4);
      expect((await suggestions("limit=500")).forecasts).toEqual({ stored: 4, computed_now: 0, pending: 0 });
    } finally {
      await sql`delete from settings where key = 'replenishment'`.execute(t.db);
    }
  });
});

describe("running totals", () => {
  it("equal the daily points added up over every lead time, to the last bit", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { maxLength: 60 }), (points) => {
        const totals = runningTotals(points);
        for (let n = 1; n <= points.length; n++) {
          expect(totals[n - 1]).toBe(points.slice(0, n).reduce((a, b) => a + b, 0));
        }
      }),
    );
  });
});

describe("suggestion pages", () => {
  it("list SKUs to order first, least covered first, and page through all of them once", async () => {
    const all = (await suggestions("all=true&limit=500")).data;
    expect(all.map((s) => s.sku).sort()).toEqual([...SKUS].sort());
    const order = all.filter((s) => s.quantity > 0);
    const rest = all.filter((s) => s.quantity === 0);
    expect(all).toEqual([...order, ...rest]);
    const coverage = order.map((s) => s.coverage ?? Number.POSITIVE_INFINITY);
    expect(coverage).toEqual([...coverage].sort((a, b) => a - b));
    // BUOY: position 0 of a maximum of 30
    expect(bySku(all).BUOY).toMatchObject({ method: "min_max", coverage: 0, quantity: 30 });

    const paged: Suggestion[] = [];
    let cursor: string | null = null;
    do {
      const res = await suggestions(`all=true&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.data.length).toBeLessThanOrEqual(2);
      paged.push(...res.data);
      cursor = res.next_cursor;
    } while (cursor);
    expect(paged.map(maths)).toEqual(all.map(maths));
    // without all=true only what needs ordering
    expect((await suggestions("limit=500")).data.map((s) => s.sku)).toEqual(order.map((s) => s.sku));

    const bad = await api(t, "GET", "/v1/replenishment/suggestions?location=STORE&cursor=nonsense");
    expect(bad.statusCode).toBe(400);
    expect((await api(t, "GET", "/v1/replenishment/suggestions?location=STORE&limit=0")).statusCode).toBe(
      400,
    );
  });
});
