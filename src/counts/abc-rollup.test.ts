import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { expectLedgerConsistent, location, ok, product, stock } from "../../test/shop.js";
import { recordSales } from "../replenishment/testing.js";
import { abcClasses } from "./abc.js";
import { ABC_DEFAULT_DAYS, abcReport, refreshAbcRollups } from "./abc-rollup.js";

let t: TestContext;
const SKUS = ["ANT", "BEE", "CAT", "DOG", "EEL", "FOX", "GNU", "HEN", "IBIS", "JAY"];

beforeAll(async () => {
  t = await testApp();
  for (const sku of SKUS) await product(t, [sku]);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

let locations = 0;
async function newLocation(): Promise<{ code: string; id: number }> {
  const code = `L${++locations}`;
  await location(t, code);
  const r = await t.db
    .selectFrom("locations")
    .select("id")
    .where("code", "=", code)
    .executeTakeFirstOrThrow();
  return { code, id: r.id };
}

type Report = { data: { sku: string; class: string; units_sold: number; value: number }[] } & Record<
  string,
  unknown
>;
const report = (code: string, query = "") =>
  ok<Report>(t, "GET", `/v1/reports/abc-classes?location=${code}${query}`);

/** Whole hours only, never within 10 minutes of the current time of day: no sale sits on a window's edge between two reads. */
const hourAwayFromNow = () => {
  const now = new Date();
  const minutes = now.getUTCHours() * 60 + now.getUTCMinutes();
  return fc
    .integer({ min: 0, max: 23 })
    .filter((h) => Math.min(Math.abs(h * 60 - minutes), 1440 - Math.abs(h * 60 - minutes)) > 10);
};

/** Every SKU valued at its price again. */
async function resetCosts() {
  await sql`update variants set cost = null`.execute(t.db);
  await sql`delete from variant_costs`.execute(t.db);
}

describe("ABC classes kept by the background job", () => {
  it("serves exactly what classifying the ledger now gives, on random sales, costs and windows", async () => {
    const sale = fc.record({
      sku: fc.constantFrom(...SKUS),
      daysAgo: fc.integer({ min: 0, max: 120 }),
      hour: hourAwayFromNow(),
      units: fc.integer({ min: 1, max: 9 }),
    });
    const scenario = fc.record({
      stocked: fc.subarray(SKUS, { minLength: 1 }),
      sales: fc.array(sale, { maxLength: 40 }),
      // a catalogue cost for some SKUs, a moving average for others, else the price
      costs: fc.array(fc.tuple(fc.constantFrom(...SKUS), fc.integer({ min: 0, max: 3000 })), {
        maxLength: 4,
      }),
      averages: fc.array(fc.tuple(fc.constantFrom(...SKUS), fc.integer({ min: 1, max: 300_000 })), {
        maxLength: 3,
      }),
      days: fc.constantFrom(ABC_DEFAULT_DAYS, 7, 30, 365),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ stocked, sales, costs, averages, days }) => {
        const loc = await newLocation();
        for (const sku of stocked) await stock(t, sku, loc.code, 50);
        for (const [sku, cost] of costs)
          await sql`update variants set cost = ${cost} where sku = ${sku}`.execute(t.db);
        for (const [sku, avg] of averages) {
          await sql`insert into variant_costs (variant_id, currency, avg_cost, on_hand_basis)
                    select id, 'EUR', ${avg / 100}, 0 from variants where sku = ${sku}
                    on conflict (variant_id) do update set avg_cost = excluded.avg_cost`.execute(t.db);
        }
        for (const s of sales) await recordSales(t.db, s.sku, loc.code, [[s.daysAgo, s.units]], s.hour);
        const query = days === ABC_DEFAULT_DAYS ? "" : `&days=${days}`;

        // the first request of a window nobody asked for classifies now; the job then keeps it
        const first = await report(loc.code, query);
        expect(first.source).toBe("computed_now");
        await refreshAbcRollups(t.db, { refreshMs: 0 });
        const stored = await report(loc.code, query);
        const live = await report(loc.code, `${query}&live=true`);
        expect(stored.source).toBe("stored");
        expect(live.source).toBe("computed_now");
        expect(stored.data).toEqual(live.data);
        expect(stored.data).toEqual(first.data);
        expect(new Date(stored.computed_at as string).getTime()).toBeLessThanOrEqual(
          new Date(live.computed_at as string).getTime(),
        );
        // and what is stored is the definition's own answer, SKU for SKU
        const definition = await abcClasses(t.db, loc.id, days);
        expect(stored.data).toEqual(definition.map(({ variant_id: _v, ...r }) => r));
        expect(stored.data.map((r) => r.sku).sort()).toEqual([...stocked].sort());
      }),
      { numRuns: 12 },
    );
  });

  it("shows new sales once the job has run, and never serves a classification older than the limit", async () => {
    await resetCosts();
    const loc = await newLocation();
    for (const sku of ["ANT", "BEE"]) await stock(t, sku, loc.code, 10);
    await refreshAbcRollups(t.db);
    const before = await report(loc.code);
    expect(before).toMatchObject({ source: "stored" });
    expect(before.data.map((r) => [r.sku, r.class])).toEqual([
      ["ANT", "C"],
      ["BEE", "C"],
    ]);

    await recordSales(t.db, "BEE", loc.code, [[1, 4]]);
    // minutes old is fine: the job's list stays until it is refreshed
    expect((await report(loc.code)).data).toEqual(before.data);
    const versions = async () =>
      (
        await sql<{ sku: string; xmin: string }>`select sku, xmin::text as xmin from abc_rollup_rows
          where location_id = ${loc.id} order by sku`.execute(t.db)
      ).rows;
    const old = await versions();
    await refreshAbcRollups(t.db, { refreshMs: 0 });
    // only the SKU whose figures changed is written again
    const now = await versions();
    expect(now.map((r) => r.sku)).toEqual(["ANT", "BEE"]);
    expect(now[0].xmin).toBe(old[0].xmin);
    expect(now[1].xmin).not.toBe(old[1].xmin);
    const after = await report(loc.code);
    expect(after.source).toBe("stored");
    expect(after.data.map((r) => [r.sku, r.class, r.units_sold])).toEqual([
      ["BEE", "A", 4],
      ["ANT", "C", 0],
    ]);

    // a list older than the limit is not served: the request classifies now
    await sql`update abc_rollups set computed_at = computed_at - interval '1 hour' where location_id = ${loc.id}`.execute(
      t.db,
    );
    await recordSales(t.db, "ANT", loc.code, [[2, 9]]);
    const late = await abcReport(t.db, loc.id, ABC_DEFAULT_DAYS);
    expect(late.source).toBe("computed_now");
    expect(late.rows.map((r) => [r.sku, r.class, r.units_sold])).toEqual([
      ["ANT", "A", 9],
      ["BEE", "A", 4],
    ]);
    // ... and stores it for the next
    expect((await report(loc.code)).source).toBe("stored");
  });

  it("keeps a window other than the default only while it is asked for", async () => {
    const loc = await newLocation();
    await stock(t, "CAT", loc.code, 5);
    await report(loc.code, "&days=14");
    const windows = async () =>
      (
        await sql<{
          days: number;
        }>`select days from abc_rollups where location_id = ${loc.id} order by days`.execute(t.db)
      ).rows.map((r) => r.days);
    await refreshAbcRollups(t.db, { refreshMs: 0 });
    expect(await windows()).toEqual([14, ABC_DEFAULT_DAYS]);
    await sql`update abc_rollups set requested_at = now() - interval '2 days' where location_id = ${loc.id}`.execute(
      t.db,
    );
    await refreshAbcRollups(t.db, { refreshMs: 0 });
    expect(await windows()).toEqual([ABC_DEFAULT_DAYS]);
  });
});
