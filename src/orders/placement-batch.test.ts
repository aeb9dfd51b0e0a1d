import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { safeEncode } from "zod";
import { type TestContext, testApp } from "../../test/helpers.js";
import { level, location, product, stock } from "../../test/shop.js";
import { inTransaction } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";
import { changeStock } from "../inventory/stock.js";
import { BatchRefused, BatchStale, placeBatch } from "./placement-batch.js";
import { OrderPlacer, placeAndShow } from "./placement-queue.js";
import type { PlaceOrderBody } from "./schema.js";
import { expectConsistent, orderBody, settings, snapshot } from "./testing.js";
import { getOrderView } from "./view.js";
import * as V from "./view-schema.js";

/**
 * Batched placement must be indistinguishable from placing the same orders
 * one by one: the same decisions on scarce stock, the same order, ledger
 * rows and events. Two identical shops (prefixes B- and S-) take the same
 * orders, one shop in a batch, the other alone.
 */
let t: TestContext;
beforeAll(async () => {
  t = await testApp({ pool: 12 });
  await location(t, "EAST", 1);
  await location(t, "WEST", 2);
  await settings(t, { auto_approve: true, allocate_at: "payment" });
  for (const p of ["B-", "S-"]) {
    await product(t, [`${p}A`]);
    await product(t, [`${p}C`]);
    await product(t, [`${p}BO`], { policy: "backorder" });
    await product(t, [`${p}D`], { kind: "digital" });
    await product(t, [`${p}KIT`], {
      kind: "bundle",
      components: [
        { sku: `${p}A`, quantity: 1 },
        { sku: `${p}C`, quantity: 2 },
      ],
    });
    await stock(t, `${p}A`, "EAST", 5);
    await stock(t, `${p}A`, "WEST", 6);
    await stock(t, `${p}C`, "EAST", 6);
    await stock(t, `${p}C`, "WEST", 4);
    await stock(t, `${p}BO`, "EAST", 1);
  }
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

const paid = (lines: { sku: string; quantity: number }[], extra: Record<string, unknown> = {}) =>
  orderBody(lines, {
    payment: { status: "paid", amount: lines.reduce((s, l) => s + l.quantity * 1000, 0) },
    ...extra,
  }) as PlaceOrderBody;

/** Orders that compete for the same units, so each is decided on what the ones before it left. */
const shopOrders = (p: string): PlaceOrderBody[] => [
  paid([{ sku: `${p}A`, quantity: 4 }]),
  orderBody([
    { sku: `${p}A`, quantity: 3 },
    { sku: `${p}D`, quantity: 1 },
  ]) as PlaceOrderBody,
  paid([{ sku: `${p}BO`, quantity: 3 }]),
  paid([
    { sku: `${p}KIT`, quantity: 2 },
    { sku: `${p}A`, quantity: 1 },
  ]),
  paid([{ sku: `${p}D`, quantity: 2 }]),
  paid([{ sku: `${p}A`, quantity: 1 }], { channel: "manual", external_id: `${p}X1` }),
];

const VOLATILE = new Set([
  "id",
  "number",
  "placed_at",
  "sla_due_at",
  "stock_committed_at",
  "at",
  "created_at",
  "updated_at",
]);
/** A record with the shop's prefix, ids, numbers and clock readings taken out. */
function norm(v: unknown): unknown {
  if (typeof v === "string") return v.replace(/\b[BS]-/g, "").replace(/^customer\d+@/, "customer@");
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, x]) => [k, norm(x)]),
    );
  return v;
}

async function recordsOf(orderId: number) {
  const ledger = await sql<Record<string, unknown>>`
    select v.sku, l.code as location, m.bucket, m.delta, m.reason, m.actor from inventory_movements m
    join variants v on v.id = m.variant_id join locations l on l.id = m.location_id
    where m.reference = ${`order:${orderId}`} order by m.id`.execute(t.db);
  const events = await sql<Record<string, unknown>>`
    select type, payload from outbox_events where type like 'order.%' and (payload->>'id')::bigint = ${orderId}
    order by id`.execute(t.db);
  const view = await getOrderView(t.db, orderId);
  return norm({ view, ledger: ledger.rows, events: events.rows });
}

describe("batched placement", () => {
  it("places a batch exactly as the same orders placed one by one: views, ledger, events, levels", async () => {
    const outcomes = await inTransaction(t.db, (tx) =>
      placeBatch(tx, shopOrders("B-"), { actor: "test", lock: false }),
    );
    const alone = [];
    for (const body of shopOrders("S-")) {
      alone.push(await inTransaction(t.db, (tx) => placeAndShow(tx, body, { actor: "test" })));
    }
    expect(outcomes.every((o) => "placed" in o)).toBe(true);
    const batched = outcomes.map((o) => ("placed" in o ? o.placed : null)!);
    // the batch's answers are what reading the orders back gives
    for (const b of batched) expect(b.view).toEqual(await getOrderView(t.db, b.orderId));
    // views built in memory are sent as JSON text: byte for byte what the response schema would send
    expect(batched.filter((b) => b.built).length).toBeGreaterThan(2);
    for (const b of batched.filter((b) => b.built)) {
      expect(JSON.stringify(b.view)).toBe(JSON.stringify(safeEncode(V.Order, b.view).data));
    }
    for (const [i, b] of batched.entries()) {
      expect(b.created).toBe(true);
      expect(await recordsOf(b.orderId)).toEqual(await recordsOf(alone[i].body.id));
    }
    // the decisions really competed: a split, a backorder, a digital-only order completed
    const statuses = batched.map((b) => b.view.status);
    expect(statuses).toContain("backordered");
    // order 1 took 4 of EAST's 5 units of A: order 2 must reach WEST
    expect(batched[1].view.allocations.map((a) => a.location)).toContain("WEST");
    for (const sku of ["A", "C", "BO"]) {
      for (const loc of ["EAST", "WEST"]) {
        expect(norm(await level(t, `B-${sku}`, loc))).toEqual(norm(await level(t, `S-${sku}`, loc)));
      }
    }
    // the last level event of every row carries the same figures in both shops
    const lastEvents = await sql<{ payload: { sku: string; location: string } }>`
      select distinct on (payload->>'sku', payload->>'location') payload from outbox_events
      where type = 'inventory.level_changed' and payload->>'sku' ~ '^[BS]-'
      order by payload->>'sku', payload->>'location', id desc`.execute(t.db);
    const bySku = (p: string) =>
      lastEvents.rows.filter((r) => r.payload.sku.startsWith(p)).map((r) => norm(r.payload));
    expect(bySku("B-")).toEqual(bySku("S-"));
  });

  it("answers a request refused before anything is written on its own, and places the rest", async () => {
    const bodies = [
      paid([{ sku: "B-C", quantity: 1 }]),
      paid([{ sku: "NO-SUCH-SKU", quantity: 1 }]),
      paid([{ sku: "B-D", quantity: 1 }], { placed_at: new Date(Date.now() + 3_600_000).toISOString() }),
      paid([{ sku: "B-D", quantity: 1 }]),
    ];
    const out = await inTransaction(t.db, (tx) => placeBatch(tx, bodies, { actor: "test", lock: false }));
    expect("placed" in out[0] && "placed" in out[3]).toBe(true);
    for (const k of [1, 2]) {
      const o = out[k];
      expect("refused" in o && o.refused instanceof ValidationFailed).toBe(true);
    }
  });

  it("gives a channel order placed before its order, and leaves a second request for one channel order to be placed alone", async () => {
    const first = paid([{ sku: "B-C", quantity: 1 }], { external_id: "dup-1" });
    const [placed] = await inTransaction(t.db, (tx) =>
      placeBatch(tx, [first], { actor: "test", lock: false }),
    );
    if (!("placed" in placed)) throw new Error("not placed");
    const again = { ...first };
    const fresh = paid([{ sku: "B-C", quantity: 1 }], { external_id: "dup-2" });
    const out = await inTransaction(t.db, (tx) =>
      placeBatch(tx, [again, fresh, { ...fresh }], { actor: "test", lock: false }),
    );
    expect(out[0]).toEqual({
      placed: { created: false, orderId: placed.placed.orderId, view: expect.anything(), built: false },
    });
    expect("placed" in out[1] && out[1].placed.created).toBe(true);
    expect(out[2]).toEqual({ alone: true });
  });

  it("rolls the whole batch back when an order cannot have its stock, naming that order", async () => {
    await product(t, ["SCARCE"]);
    await stock(t, "SCARCE", "EAST", 2);
    const before = await snapshot(t);
    const bodies = [
      paid([{ sku: "SCARCE", quantity: 2 }]),
      paid([{ sku: "SCARCE", quantity: 1 }]),
      paid([{ sku: "B-C", quantity: 1 }]),
    ];
    const err = await inTransaction(t.db, (tx) =>
      placeBatch(tx, bodies, { actor: "test", lock: false }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(BatchRefused);
    expect(err.refused).toEqual([1]);
    expect(await snapshot(t)).toEqual(before);
  });

  it("refuses to hold stock that changed after it was read unlocked, and decides right once locked", async () => {
    await product(t, ["RACE"]);
    await stock(t, "RACE", "EAST", 3);
    const ids = await sql<{ v: number; l: number }>`
      select (select id from variants where sku = 'RACE') as v, (select id from locations where code = 'EAST') as l`.execute(
      t.db,
    );
    const { v, l } = ids.rows[0];
    // another transaction takes the units and has not committed when the batch reads them
    let commit!: () => void;
    let taken!: () => void;
    const isTaken = new Promise<void>((r) => {
      taken = r;
    });
    const other = t.db.transaction().execute(async (tx) => {
      await changeStock(tx, [{ variantId: v, locationId: l, deltas: { on_hand: -3 }, reason: "initial" }], {
        actor: "test",
        guardFree: false,
      });
      taken();
      await new Promise<void>((r) => {
        commit = r;
      });
    });
    await isTaken;
    const body = paid([{ sku: "RACE", quantity: 2 }]);
    const batch = inTransaction(t.db, (tx) => placeBatch(tx, [body], { actor: "test", lock: false })).catch(
      (e) => e,
    );
    await new Promise((r) => setTimeout(r, 300)); // the batch waits for the row at its holding statement
    commit();
    await other;
    expect(await batch).toBeInstanceOf(BatchStale);
    const locked = await inTransaction(t.db, (tx) =>
      placeBatch(tx, [body], { actor: "test", lock: true }),
    ).catch((e) => e);
    expect(locked).toBeInstanceOf(BatchRefused);
    expect(await level(t, "RACE", "EAST")).toMatchObject({ on_hand: 0, reserved: 0, allocated: 0 });
  });

  it("counts a customer's orders earlier in the same batch for the orders-per-hour rule", async () => {
    await settings(t, { fraud: { max_orders_per_email_per_hour: 2 } });
    try {
      const same = () => paid([{ sku: "B-D", quantity: 1 }], { customer: { email: "Repeat@Example.com" } });
      const out = await inTransaction(t.db, (tx) =>
        placeBatch(tx, [same(), same(), same()], { actor: "test", lock: false }),
      );
      expect(out.map((o) => ("placed" in o ? o.placed.view.status : o))).toEqual([
        "completed",
        "completed",
        "on_hold",
      ]);
    } finally {
      await settings(t, { fraud: { max_orders_per_email_per_hour: null } });
    }
  });

  it("coalesces concurrent placements, each answered on its own, the refused ones with 409", async () => {
    await product(t, ["FLASH"]);
    await stock(t, "FLASH", "EAST", 25);
    const placer = new OrderPlacer(t.db);
    const results = await Promise.all(
      Array.from({ length: 60 }, () =>
        placer.place(paid([{ sku: "FLASH", quantity: 1 }]), "test").then(
          (r) => r,
          (e) => e,
        ),
      ),
    );
    const placed = results.filter((r) => r.status === 201);
    expect(placed.length).toBe(25);
    expect(results.filter((r) => r.status === 409 && r.code === "insufficient_stock").length).toBe(35);
    for (const r of placed.slice(0, 5)) expect(r.body).toEqual(await getOrderView(t.db, r.body.id));
    expect(placer.stats.batches).toBeLessThan(60);
    // operators see the coalescing, and why orders left their batch
    const metrics = (await t.app.inject({ method: "GET", url: "/metrics", headers: t.auth })).body;
    // every refused order went alone (some more: a batch decided on stock read before another committed)
    const alone = Number(
      /keel_orders_placed_alone_total\{why="refused for stock"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(alone).toBeGreaterThanOrEqual(35);
    expect(metrics).toMatch(/keel_batch_size_count\{kind="orders"\} \d+/);
    expect(await level(t, "FLASH", "EAST")).toMatchObject({ on_hand: 25, allocated: 25 });
  });
});
