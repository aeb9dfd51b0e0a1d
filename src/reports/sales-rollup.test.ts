import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import { liveSalesValue, rebuildSalesValue, rollUpSalesValue } from "./sales-rollup.js";
import { catchUpSalesValue } from "./testing.js";

let t: TestContext;
const SKUS = ["ANT", "BEE", "CAT"];

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  for (const sku of SKUS) await product(t, [sku]);
  await product(t, ["KIT"], {
    kind: "bundle",
    components: [
      { sku: "ANT", quantity: 1 },
      { sku: "BEE", quantity: 2 },
    ],
  });
  for (const sku of SKUS) await stock(t, sku, "MAIN", 100_000);
  // moving-average costs for two of the three; CAT has none (uncosted)
  await sql`insert into variant_costs (variant_id, currency, avg_cost, on_hand_basis)
    select id, 'EUR', case sku when 'ANT' then 123.5 else 40 end, 0 from variants where sku in ('ANT', 'BEE')`.execute(
    t.db,
  );
});
afterAll(() => t.close());

const stored = async () =>
  (
    await sql<
      Record<string, unknown>
    >`select variant_id, channel_id, currency, day, units, revenue, cost, uncosted_units
      from sales_value_daily order by day, variant_id, channel_id, currency`.execute(t.db)
  ).rows;
const live = async () =>
  (await liveSalesValue(t.db)).sort(
    (a, b) => +a.day - +b.day || a.variant_id - b.variant_id || a.channel_id - b.channel_id,
  );

describe("sales_value_daily kept from the outbox", () => {
  it("equals a live computation over every shipment, with rollups (and rebuilds) run at random points and two at once", async () => {
    const line = fc.record({
      sku: fc.constantFrom(...SKUS, "KIT"),
      quantity: fc.integer({ min: 1, max: 5 }),
      unit_price: fc.integer({ min: 1, max: 5000 }),
    });
    const step = fc.record({
      lines: fc.uniqueArray(line, { minLength: 1, maxLength: 3, selector: (l) => l.sku }),
      // ship everything, part of the first line, or nothing
      ship: fc.constantFrom("all", "part", "none"),
      daysAgo: fc.integer({ min: 0, max: 40 }),
      rollUp: fc.constantFrom("none", "one", "small", "two", "rebuild"),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 5 }), async (steps) => {
        for (const s of steps) {
          const body = orderBody(s.lines);
          const total = body.lines.reduce((n, l) => n + l.quantity * l.unit_price, 0);
          const o = await place(t, { ...body, payment: { status: "paid", amount: total } });
          const first = s.lines[0];
          if (s.ship !== "none" && !(s.ship === "part" && (first.sku === "KIT" || first.quantity < 2))) {
            const lines = s.ship === "part" ? [{ sku: first.sku, quantity: first.quantity - 1 }] : undefined;
            const f = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, lines ? { lines } : {}, 201);
            await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
            await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
            await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, {
              carrier: "DHL",
              tracking_number: `T${f.id}`,
            });
            // spread shipments over days (before any rollup sees them)
            await sql`update fulfillments set shipped_at = shipped_at - make_interval(days => ${s.daysAgo})
              where id = ${f.id}`.execute(t.db);
          }
          if (s.rollUp === "one") await rollUpSalesValue(t.db);
          // a run bounded to a few transactions (as a first run over a long outbox is)
          if (s.rollUp === "small") await rollUpSalesValue(t.db, 5);
          if (s.rollUp === "two") await Promise.all([rollUpSalesValue(t.db), rollUpSalesValue(t.db)]);
          if (s.rollUp === "rebuild") await Promise.all([rebuildSalesValue(t.db), rollUpSalesValue(t.db)]);
        }
        await catchUpSalesValue(t.db);
        expect(await stored()).toEqual(await live());
      }),
      { numRuns: 25 },
    );
    const any = await stored();
    expect(any.length).toBeGreaterThan(0);
  });
});
