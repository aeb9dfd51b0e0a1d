import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { level, location, product, stock } from "../../test/shop.js";
import { auditOrderHolds } from "./audit.js";
import { sweepBackorders } from "./backorders.js";
import { expectConsistent, orderBody, settings } from "./testing.js";

/**
 * Many simultaneous clients over real HTTP against a real PostgreSQL: the
 * database, not the process, keeps the promises. No request may fail with a
 * 5xx (deadlocks and serialisation failures are retried, never surfaced).
 */
let t: TestContext;
let base: string;

beforeAll(async () => {
  t = await testApp({ pool: 20 });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  await location(t, "A", 1);
  await location(t, "B", 2);
});
afterAll(() => t.close());

// biome-ignore lint/suspicious/noExplicitAny: responses are JSON the assertions look into
async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { ...t.auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A small deterministic PRNG so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const bucketSums = async () =>
  (
    await sql<{ reserved: number; allocated: number; held_reserved: number; held_allocated: number }>`
      select (select coalesce(sum(reserved), 0)::int from inventory_levels) as reserved,
             (select coalesce(sum(allocated), 0)::int from inventory_levels) as allocated,
             (select coalesce(sum(reserved), 0)::int from order_allocations) as held_reserved,
             (select coalesce(sum(allocated), 0)::int from order_allocations) as held_allocated`.execute(t.db)
  ).rows[0];

describe("concurrent orders", () => {
  it("300 simultaneous 3-line orders over a small pool: no oversell, allocations equal the buckets, ledger clean", async () => {
    await settings(t, { auto_approve: true, allocate_at: "payment" });
    const skus = ["P1", "P2", "P3", "P4", "P5", "P6"];
    for (const sku of skus) {
      await product(t, [sku]);
      await stock(t, sku, "A", 40);
      await stock(t, sku, "B", 25);
    }
    await product(t, ["BO"], { policy: "backorder" });
    await stock(t, "BO", "A", 20);
    const all = [...skus, "BO"];
    const rnd = random(42);
    const bodies = Array.from({ length: 300 }, (_, i) => {
      const picked = [...all].sort(() => rnd() - 0.5).slice(0, 3);
      const lines = picked.map((sku) => ({ sku, quantity: 1 + Math.floor(rnd() * 2), unit_price: 1000 }));
      const total = lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
      // every other order is paid at placement: with allocate_at = payment its units go to allocated
      return orderBody(lines, i % 2 ? { payment: { status: "paid", amount: total } } : {});
    });

    const started = performance.now();
    const results = await Promise.all(bodies.map((b) => post("/v1/orders", b)));
    const ms = Math.round(performance.now() - started);
    console.log(
      `300 concurrent 3-line orders over HTTP (pool 20): ${ms} ms, ${Math.round(300_000 / ms)} orders/s`,
    );

    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const refused = results.filter((r) => r.status === 409);
    expect(refused.every((r) => r.body.code === "insufficient_stock")).toBe(true);
    const placed = results.filter((r) => r.status === 201).map((r) => r.body);
    expect(placed.length).toBeGreaterThan(50);
    expect(refused.length).toBeGreaterThan(0);

    // no oversell: on_hand untouched, and what every placed order holds is exactly what the buckets hold
    for (const sku of skus) {
      const a = await level(t, sku, "A");
      const b = await level(t, sku, "B");
      expect(a?.on_hand).toBe(40);
      expect(b?.on_hand).toBe(25);
      const held = placed
        .flatMap((o) => o.allocations)
        .filter((x: { sku: string }) => x.sku === sku)
        .reduce((s: number, x: { quantity: number }) => s + x.quantity, 0);
      expect(held).toBe((a?.reserved ?? 0) + (a?.allocated ?? 0) + (b?.reserved ?? 0) + (b?.allocated ?? 0));
      expect(held).toBeLessThanOrEqual(65);
    }
    // the line a backorder policy covers never refuses an order
    expect(refused.every((r) => r.body.lines.every((l: { sku: string }) => l.sku !== "BO"))).toBe(true);
    for (const o of placed) {
      expect(
        o.lines.every(
          (l: { quantity: number; held: number; backordered: number }) =>
            l.held + l.backordered === l.quantity,
        ),
      ).toBe(true);
      expect(o.status).toBe(
        o.lines.some((l: { backordered: number }) => l.backordered > 0) ? "backordered" : "approved",
      );
    }
    const sums = await bucketSums();
    expect(sums.held_allocated).toBe(sums.allocated);
    expect(sums.held_reserved).toBe(sums.reserved);
    expect(sums.allocated).toBeGreaterThan(0);
    expect(sums.reserved).toBeGreaterThan(0);
    await expectConsistent(t);
  }, 120_000);

  it("the same channel order imported 25 times at once is one order with one hold", async () => {
    await product(t, ["DUP"]);
    await stock(t, "DUP", "A", 100);
    const body = orderBody([{ sku: "DUP", quantity: 3 }], { channel: "manual", external_id: "shop-555" });
    const results = await Promise.all(Array.from({ length: 25 }, () => post("/v1/orders", body)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(24);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const count = await sql<{
      n: number;
    }>`select count(*)::int as n from orders where external_id = 'shop-555'`.execute(t.db);
    expect(count.rows[0].n).toBe(1);
    expect(await level(t, "DUP", "A")).toMatchObject({ on_hand: 100, available: 97 });
    await expectConsistent(t);
  });

  it("arrivals, cancellations and approvals racing over backorders keep every promise, first placed first", async () => {
    await settings(t, { auto_approve: true, allocate_at: "approval" });
    await product(t, ["RACE"], { policy: "backorder" });
    const waiting = [];
    for (let i = 0; i < 40; i++) {
      waiting.push((await post("/v1/orders", orderBody([{ sku: "RACE", quantity: 1 }]))).body);
    }
    expect(waiting.every((o) => o.status === "backordered")).toBe(true);
    const ops = [
      ...Array.from({ length: 25 }, (_, i) =>
        post("/v1/inventory/adjustments", {
          sku: "RACE",
          location: i % 2 ? "A" : "B",
          delta: 1,
          reason: "received",
        }),
      ),
      ...waiting
        .filter((_, i) => i % 8 === 3)
        .map((o) => post(`/v1/orders/${o.id}/cancel`, { reason: "changed mind" })),
    ];
    const results = await Promise.all(ops);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    await sweepBackorders(t.db);
    const cancelled = new Set(waiting.filter((_, i) => i % 8 === 3).map((o) => o.id));
    const filled: boolean[] = [];
    for (const o of waiting.filter((w) => !cancelled.has(w.id))) {
      const now = (await fetch(`${base}/v1/orders/${o.id}`, { headers: t.auth }).then((r) => r.json())) as {
        lines: { held: number }[];
      };
      filled.push(now.lines[0].held === 1);
    }
    // 25 units arrived for 35 orders still waiting: the first 25 placed have them
    expect(filled.filter(Boolean)).toHaveLength(25);
    expect(filled.indexOf(false)).toBe(25);
    const a = await level(t, "RACE", "A");
    const b = await level(t, "RACE", "B");
    expect((a?.allocated ?? 0) + (b?.allocated ?? 0)).toBe(25);
    expect(await auditOrderHolds(t.db)).toEqual({ levels: [], lines: [] });
    await expectConsistent(t);
  });
});
