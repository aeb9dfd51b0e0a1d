import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import { factsOf, rebuildOrderFacts, rollUpOrderFacts } from "./order-facts.js";
import { catchUpOrderFacts } from "./testing.js";

let t: TestContext;
const SKUS = ["ANT", "BEE", "CAT"];

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  for (const sku of SKUS) await product(t, [sku]);
  await product(t, ["BACK"], { policy: "backorder" });
  await product(t, ["KIT"], {
    kind: "bundle",
    components: [
      { sku: "ANT", quantity: 1 },
      { sku: "BEE", quantity: 2 },
    ],
  });
  for (const sku of SKUS) await stock(t, sku, "MAIN", 100_000);
});
afterAll(() => t.close());

const stored = async () =>
  (
    await sql<
      Record<string, unknown>
    >`select order_id, channel_id, placed_at, status, units, shipped, cancelled, backordered,
      hours_to_ship from order_facts order by order_id`.execute(t.db)
  ).rows;
const live = async () =>
  (
    await sql<Record<string, unknown>>`select * from (${factsOf(sql`select id from orders`)})
      as x(order_id, channel_id, placed_at, status, units, shipped, cancelled, backordered, hours_to_ship)
      order by order_id`.execute(t.db)
  ).rows;

async function ship(orderId: number, lines?: { sku: string; quantity: number }[]) {
  const f = await api(t, "POST", `/v1/orders/${orderId}/fulfillments`, lines ? { lines } : {});
  if (f.statusCode !== 201) return; // nothing left to ship (all cancelled or backordered)
  const id = f.json().id;
  await ok(t, "POST", `/v1/fulfillments/${id}/pick`);
  await ok(t, "POST", `/v1/fulfillments/${id}/pack`);
  await ok(t, "POST", `/v1/fulfillments/${id}/ship`, { carrier: "DHL", tracking_number: `T${id}` });
}

describe("order_facts kept from the outbox", () => {
  it("equals the facts computed from the orders now, after random shipments, cancellations, stock arrivals and rollups", async () => {
    const line = fc.record({
      sku: fc.constantFrom(...SKUS, "KIT", "BACK"),
      quantity: fc.integer({ min: 1, max: 4 }),
    });
    const step = fc.record({
      lines: fc.uniqueArray(line, { minLength: 1, maxLength: 3, selector: (l) => l.sku }),
      action: fc.constantFrom(
        "ship_all",
        "ship_part_then_cancel_rest",
        "cancel_part",
        "cancel_all",
        "nothing",
      ),
      arrival: fc.boolean(), // BACK stock arrives afterwards (fills its backorders)
      rollUp: fc.constantFrom("none", "one", "small", "two", "rebuild"),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
        for (const s of steps) {
          const body = orderBody(s.lines);
          const total = body.lines.reduce((n, l) => n + l.quantity * l.unit_price, 0);
          const o = await place(t, { ...body, payment: { status: "paid", amount: total } });
          const first = s.lines[0];
          if (s.action === "ship_all") await ship(o.id);
          if (s.action === "ship_part_then_cancel_rest" && first.quantity > 1 && SKUS.includes(first.sku)) {
            await ship(o.id, [{ sku: first.sku, quantity: 1 }]);
            await api(t, "POST", `/v1/orders/${o.id}/cancel`, {
              reason: "customer_request",
              lines: [{ sku: first.sku, quantity: first.quantity - 1 }],
            });
          }
          if (s.action === "cancel_part" && first.quantity > 1) {
            await api(t, "POST", `/v1/orders/${o.id}/cancel`, {
              reason: "changed_mind",
              lines: [{ sku: first.sku, quantity: 1 }],
            });
          }
          if (s.action === "cancel_all")
            await ok(t, "POST", `/v1/orders/${o.id}/cancel`, { reason: "fraud" });
          if (s.arrival) await stock(t, "BACK", "MAIN", 2);
          if (s.rollUp === "one") await rollUpOrderFacts(t.db);
          // a run bounded to a few transactions (as a first run over a long outbox is)
          if (s.rollUp === "small") await rollUpOrderFacts(t.db, 5);
          if (s.rollUp === "two") await Promise.all([rollUpOrderFacts(t.db), rollUpOrderFacts(t.db)]);
          if (s.rollUp === "rebuild") await Promise.all([rebuildOrderFacts(t.db), rollUpOrderFacts(t.db)]);
        }
        await catchUpOrderFacts(t.db);
        expect(await stored()).toEqual(await live());
      }),
      { numRuns: 20 },
    );
    const rows = await stored();
    expect(rows.some((r) => (r.cancelled as number) > 0)).toBe(true);
    expect(rows.some((r) => r.hours_to_ship !== null)).toBe(true);
  });
});
