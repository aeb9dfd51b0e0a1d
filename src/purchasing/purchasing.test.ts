import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, expectLedgerConsistent, level, location, ok, product, stock } from "../../test/shop.js";
import { onStockArrival } from "../inventory/arrivals.js";
import { expectedDateFor } from "./expected.js";

let t: TestContext;
/** Every stockArrived call, as the orders module would see it. */
const arrivals: { variantId: number; locationId: number }[][] = [];
onStockArrival(async (_tx, arrived) => {
  arrivals.push(arrived);
});

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  await location(t, "QC", 2);
  await product(t, ["BOLT"]);
  await product(t, ["NUT"]);
  await product(t, ["WASHER"]);
  await product(t, ["EBOOK-P"], { kind: "digital" });
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme Tools", lead_time_days: 10 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "BOLT", cost: 1000, min_order_qty: 10 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "NUT", cost: 2000, lead_time_days: 3 }, 201);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

const variantId = async (sku: string) =>
  (await t.db.selectFrom("variants").select("id").where("sku", "=", sku).executeTakeFirstOrThrow()).id;
const locationId = async (code: string) =>
  (await t.db.selectFrom("locations").select("id").where("code", "=", code).executeTakeFirstOrThrow()).id;

async function rowCounts() {
  const tables = [
    "suppliers",
    "supplier_items",
    "purchase_orders",
    "purchase_order_lines",
    "receipts",
    "receipt_lines",
    "inventory_movements",
    "outbox_events",
    "variant_costs",
  ] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const r = await t.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    out[table] = Number(r.n);
  }
  return out;
}

async function draft(lines: unknown[], extra: Record<string, unknown> = {}) {
  return ok(t, "POST", "/v1/purchase-orders", { supplier: "ACME", location: "MAIN", lines, ...extra }, 201);
}

describe("suppliers", () => {
  it("creates suppliers and items; replaces an item; refuses duplicates and bad input", async () => {
    const dup = await api(t, "POST", "/v1/suppliers", { code: "ACME", name: "Again", lead_time_days: 1 });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe("conflict");
    const replaced = await api(t, "POST", "/v1/suppliers/ACME/items", {
      sku: "NUT",
      cost: 2000,
      lead_time_days: 3,
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ supplier: "ACME", sku: "NUT", effective_lead_time_days: 3 });
    const items = await ok(t, "GET", "/v1/suppliers/ACME/items");
    expect(items.data.map((i: { sku: string }) => i.sku)).toEqual(["BOLT", "NUT"]);
    const before = await rowCounts();
    const cases: [string, unknown, number, string][] = [
      ["/v1/suppliers", { code: "X", name: "X" }, 400, "lead_time_days"],
      ["/v1/suppliers", { code: "bad code", name: "X", lead_time_days: 1 }, 400, "code"],
      ["/v1/suppliers", { code: "Y", name: "Y", lead_time_days: -1 }, 400, "lead_time_days"],
      ["/v1/suppliers", { code: "Y", name: "Y", lead_time_days: 1, extra: true }, 400, "extra"],
      ["/v1/suppliers/ACME/items", { sku: "NOPE", cost: 1 }, 422, "sku"],
      ["/v1/suppliers/ACME/items", { sku: "EBOOK-P", cost: 1 }, 422, "sku"],
      ["/v1/suppliers/ACME/items", { sku: "BOLT", cost: -5 }, 400, "cost"],
      ["/v1/suppliers/ACME/items", { sku: "BOLT", cost: 5, pack_size: 0 }, 400, "pack_size"],
    ];
    for (const [url, body, status, field] of cases) {
      const res = await api(t, "POST", url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(JSON.stringify(res.json().errors)).toContain(field);
    }
    expect((await api(t, "POST", "/v1/suppliers/NOBODY/items", { sku: "BOLT", cost: 1 })).statusCode).toBe(
      404,
    );
    expect(await rowCounts()).toEqual(before);
  });
});

describe("purchase order lifecycle", () => {
  it("draft → submitted → partially_received → received → closed, with incoming, on_hand, backorder fill", async () => {
    await stock(t, "BOLT", "MAIN", 4);
    const po = await draft([
      { sku: "BOLT", quantity: 10 },
      { sku: "NUT", quantity: 5, unit_cost: 1900 },
    ]);
    expect(po).toMatchObject({
      status: "draft",
      supplier: "ACME",
      currency: "EUR",
      allowed_actions: ["submit", "cancel"],
      total: 10 * 1000 + 5 * 1900,
    });
    expect(po.lines.map((l: { unit_cost: number }) => l.unit_cost)).toEqual([1000, 1900]);
    expect((await level(t, "BOLT", "MAIN"))?.incoming).toBe(0);

    const submitted = await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    expect(submitted.status).toBe("submitted");
    const today = new Date();
    const plus = (days: number) => new Date(today.getTime() + days * 86_400_000).toISOString().slice(0, 10);
    // BOLT uses the supplier's 10 days, NUT its item's 3
    expect(submitted.lines.map((l: { expected_date: string }) => l.expected_date)).toEqual([
      plus(10),
      plus(3),
    ]);
    expect(await level(t, "BOLT", "MAIN")).toMatchObject({ on_hand: 4, incoming: 10 });
    expect(await level(t, "NUT", "MAIN")).toMatchObject({ on_hand: 0, incoming: 5 });
    expect(await expectedDateFor(t.db, await variantId("NUT"))).toBe(plus(3));
    expect(await expectedDateFor(t.db, await variantId("NUT"), await locationId("QC"))).toBeNull();

    arrivals.length = 0;
    const part = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "BOLT", quantity: 6 }] },
      201,
    );
    expect(part.purchase_order.status).toBe("partially_received");
    expect(part.purchase_order.allowed_actions).toEqual(["receive", "close"]);
    expect(part.lines).toMatchObject([{ sku: "BOLT", quantity: 6, over_received: 0 }]);
    expect(await level(t, "BOLT", "MAIN")).toMatchObject({ on_hand: 10, incoming: 4 });
    // the orders module's listener heard about it, inside the receipt's transaction
    expect(arrivals).toEqual([
      [{ variantId: await variantId("BOLT"), locationId: await locationId("MAIN") }],
    ]);

    const rest = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      {
        lines: [
          { sku: "BOLT", quantity: 4 },
          { sku: "NUT", quantity: 5 },
        ],
      },
      201,
    );
    expect(rest.purchase_order.status).toBe("received");
    expect(await level(t, "BOLT", "MAIN")).toMatchObject({ on_hand: 14, incoming: 0 });
    expect(await level(t, "NUT", "MAIN")).toMatchObject({ on_hand: 5, incoming: 0 });
    expect(await expectedDateFor(t.db, await variantId("NUT"))).toBeNull();

    const again = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
      lines: [{ sku: "NUT", quantity: 1 }],
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: "invalid_transition", allowed: ["close"] });
    expect((await api(t, "POST", `/v1/purchase-orders/${po.id}/cancel`, {})).json().detail).toMatch(
      /received cannot cancel; allowed: close/,
    );
    const closed = await ok(t, "POST", `/v1/purchase-orders/${po.id}/close`, { reason: "invoice booked" });
    expect(closed).toMatchObject({ status: "closed", end_reason: "invoice booked", allowed_actions: [] });

    const moves = await ok(t, "GET", `/v1/inventory/movements?reference=po:${po.id}&limit=100`);
    const summary = moves.data
      .map(
        (m: { sku: string; bucket: string; delta: number; reason: string }) =>
          `${m.sku} ${m.bucket} ${m.delta} ${m.reason}`,
      )
      .sort();
    expect(summary).toEqual(
      [
        "BOLT incoming 10 purchase",
        "BOLT incoming -6 receipt",
        "BOLT on_hand 6 receipt",
        "BOLT incoming -4 receipt",
        "BOLT on_hand 4 receipt",
        "NUT incoming 5 purchase",
        "NUT incoming -5 receipt",
        "NUT on_hand 5 receipt",
      ].sort(),
    );
    const events = await t.db
      .selectFrom("outbox_events")
      .select("type")
      .where("type", "like", "purchase_order.%")
      .orderBy("id")
      .execute();
    expect(events.map((e) => e.type)).toEqual([
      "purchase_order.created",
      "purchase_order.submitted",
      "purchase_order.receipt_created",
      "purchase_order.partially_received",
      "purchase_order.receipt_created",
      "purchase_order.received",
      "purchase_order.closed",
    ]);
  });

  it("cancels a draft and a submitted order (taking back incoming); short-closes a partial one", async () => {
    const a = await draft([{ sku: "WASHER", quantity: 3, unit_cost: 50 }]);
    expect((await ok(t, "POST", `/v1/purchase-orders/${a.id}/cancel`, {})).status).toBe("cancelled");
    const b = await draft([{ sku: "WASHER", quantity: 7, unit_cost: 50 }]);
    await ok(t, "POST", `/v1/purchase-orders/${b.id}/submit`);
    expect((await level(t, "WASHER", "MAIN"))?.incoming).toBe(7);
    const cancelled = await ok(t, "POST", `/v1/purchase-orders/${b.id}/cancel`, {
      reason: "supplier out of stock",
    });
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.lines[0].outstanding).toBe(0);
    expect((await level(t, "WASHER", "MAIN"))?.incoming).toBe(0);
    const twice = await api(t, "POST", `/v1/purchase-orders/${b.id}/submit`);
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ code: "invalid_transition", status_now: "cancelled", allowed: [] });

    const c = await draft([{ sku: "WASHER", quantity: 10, unit_cost: 50 }]);
    await ok(t, "POST", `/v1/purchase-orders/${c.id}/submit`);
    await ok(
      t,
      "POST",
      `/v1/purchase-orders/${c.id}/receipts`,
      { lines: [{ sku: "WASHER", quantity: 4 }] },
      201,
    );
    const noCancel = await api(t, "POST", `/v1/purchase-orders/${c.id}/cancel`, {});
    expect(noCancel.json()).toMatchObject({ code: "invalid_transition", allowed: ["receive", "close"] });
    const short = await ok(t, "POST", `/v1/purchase-orders/${c.id}/close`, {
      reason: "rest backordered at supplier",
    });
    expect(short.status).toBe("closed");
    expect(await level(t, "WASHER", "MAIN")).toMatchObject({ incoming: 0, on_hand: 4 });
    const moves = await ok(
      t,
      "GET",
      `/v1/inventory/movements?reference=po:${c.id}&reason=purchase_cancelled`,
    );
    expect(moves.data).toMatchObject([
      { bucket: "incoming", delta: -6, note: "rest backordered at supplier" },
    ]);
  });

  it("refuses over-receipt unless allowed; allowed extra goes straight to on_hand", async () => {
    const po = await draft([
      { sku: "WASHER", quantity: 5, unit_cost: 50 },
      { sku: "NUT", quantity: 2, allow_over_receipt: true },
    ]);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const before = await rowCounts();
    const washer = await level(t, "WASHER", "MAIN");
    const over = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
      lines: [{ sku: "WASHER", quantity: 6 }],
    });
    expect(over.statusCode).toBe(422);
    expect(over.json().errors).toEqual([
      { path: "body.lines.0.quantity", message: expect.stringMatching(/only 5 of WASHER outstanding/) },
    ]);
    expect(await rowCounts()).toEqual(before);
    expect(await level(t, "WASHER", "MAIN")).toEqual(washer);

    const nut = await level(t, "NUT", "MAIN");
    const extra = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "NUT", quantity: 3 }] },
      201,
    );
    expect(extra.lines).toMatchObject([{ sku: "NUT", quantity: 3, over_received: 1 }]);
    expect(await level(t, "NUT", "MAIN")).toMatchObject({
      on_hand: (nut?.on_hand ?? 0) + 3,
      incoming: (nut?.incoming ?? 0) - 2,
    });
  });

  it("receives into quarantine where the location inspects, without announcing sellable stock", async () => {
    await ok(t, "POST", "/v1/receiving-settings", { location: "QC", inspect: true });
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      { supplier: "ACME", location: "QC", lines: [{ sku: "BOLT", quantity: 8 }] },
      201,
    );
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    arrivals.length = 0;
    const r = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "BOLT", quantity: 8 }] },
      201,
    );
    expect(r.bucket).toBe("quarantine");
    expect(await level(t, "BOLT", "QC")).toMatchObject({ on_hand: 0, quarantine: 8, incoming: 0 });
    expect(arrivals).toEqual([]);
    const settings = await ok(t, "GET", "/v1/receiving-settings");
    expect(settings.data).toContainEqual({ location: "QC", inspect: true, allow_over_receipt: false });
  });

  it("refuses bad orders and receipts with a clear 4xx, changing nothing", async () => {
    const po = await draft([{ sku: "BOLT", quantity: 2 }]);
    const before = await rowCounts();
    const orders: [unknown, number, string][] = [
      [{ supplier: "ACME", location: "MAIN", lines: [] }, 400, "lines"],
      [{ supplier: "ACME", location: "MAIN", lines: [{ sku: "BOLT", quantity: 0 }] }, 400, "quantity"],
      [{ supplier: "ACME", location: "MAIN", lines: [{ sku: "BOLT", quantity: 1.5 }] }, 400, "quantity"],
      [{ supplier: "NOPE", location: "MAIN", lines: [{ sku: "BOLT", quantity: 1 }] }, 422, "supplier"],
      [{ supplier: "ACME", location: "MOON", lines: [{ sku: "BOLT", quantity: 1 }] }, 422, "location"],
      [{ supplier: "ACME", location: "MAIN", lines: [{ sku: "NOPE", quantity: 1 }] }, 422, "sku"],
      [{ supplier: "ACME", location: "MAIN", lines: [{ sku: "WASHER", quantity: 1 }] }, 422, "unit_cost"],
      [
        { supplier: "ACME", location: "MAIN", lines: [{ sku: "EBOOK-P", quantity: 1, unit_cost: 1 }] },
        422,
        "sku",
      ],
      [
        {
          supplier: "ACME",
          location: "MAIN",
          lines: [
            { sku: "BOLT", quantity: 1 },
            { sku: "BOLT", quantity: 2 },
          ],
        },
        422,
        "lines.1.sku",
      ],
      [
        { supplier: "ACME", location: "MAIN", lines: [{ sku: "BOLT", quantity: 1 }], expected_date: "soon" },
        400,
        "expected_date",
      ],
    ];
    for (const [body, status, field] of orders) {
      const res = await api(t, "POST", "/v1/purchase-orders", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().code).toBe("validation_failed");
      expect(JSON.stringify(res.json().errors)).toContain(field);
    }
    // receipts on a draft are a transition error; unknown orders 404
    const onDraft = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, {
      lines: [{ sku: "BOLT", quantity: 1 }],
    });
    expect(onDraft.json()).toMatchObject({ code: "invalid_transition", allowed: ["submit", "cancel"] });
    expect((await api(t, "POST", "/v1/purchase-orders/999999/submit")).statusCode).toBe(404);
    expect((await api(t, "GET", "/v1/purchase-orders/abc")).statusCode).toBe(400);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const after = await rowCounts();
    const receipts: [unknown, number, string][] = [
      [{ lines: [{ sku: "NUT", quantity: 1 }] }, 422, "lines.0.sku"],
      [{ lines: [{ sku: "BOLT", quantity: -1 }] }, 400, "quantity"],
      [{ lines: [{ sku: "BOLT", quantity: 1 }], freight: -1 }, 400, "freight"],
      [
        {
          lines: [
            { sku: "BOLT", quantity: 1 },
            { sku: "BOLT", quantity: 1 },
          ],
        },
        422,
        "lines.1.sku",
      ],
    ];
    for (const [body, status, field] of receipts) {
      const res = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(JSON.stringify(res.json().errors)).toContain(field);
    }
    expect(await rowCounts()).toEqual(after);
    expect(after.purchase_orders).toBe(before.purchase_orders);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/cancel`, {});
  });

  it("replays receipts with the same Idempotency-Key and receives concurrent receipts at most once", async () => {
    const po = await draft([{ sku: "BOLT", quantity: 5 }]);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const body = { lines: [{ sku: "BOLT", quantity: 1 }] };
    const key = { "idempotency-key": `receipt-${po.id}` };
    const first = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body, key);
    const second = await api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body, key);
    expect(first.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers["idempotent-replayed"]).toBe("true");
    const other = await api(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "BOLT", quantity: 2 }] },
      key,
    );
    expect(other.statusCode).toBe(422);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api(t, "POST", `/v1/purchase-orders/${po.id}/receipts`, body)),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(4);
    expect(results.filter((r) => r.statusCode !== 201).every((r) => r.statusCode === 409)).toBe(true);
    const final = await ok(t, "GET", `/v1/purchase-orders/${po.id}`);
    expect(final).toMatchObject({ status: "received", lines: [{ received: 5, outstanding: 0 }] });
    expect(final.receipts).toHaveLength(5);
  });
});

describe("costing", () => {
  it("moves the average by receipts, with freight and duty spread by value", async () => {
    await product(t, ["GEAR"]);
    await product(t, ["AXLE"]);
    await stock(t, "GEAR", "MAIN", 10);
    const po = await draft([
      { sku: "GEAR", quantity: 10, unit_cost: 1000 },
      { sku: "AXLE", quantity: 5, unit_cost: 2000 },
    ]);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    const r1 = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      {
        lines: [
          { sku: "GEAR", quantity: 5 },
          { sku: "AXLE", quantity: 5 },
        ],
        freight: 300,
        duty: 100,
      },
      201,
    );
    // values 5000 and 10000: 400 splits 133/267 by largest remainder
    expect(r1.lines.map((l: { landed_cost: number }) => l.landed_cost)).toEqual([133, 267]);
    // GEAR had 10 on hand without a cost: the receipt's landed cost becomes the average
    expect(r1.lines.map((l: { avg_cost_after: number }) => l.avg_cost_after)).toEqual([1027, 2053]);
    const r2 = await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      { lines: [{ sku: "GEAR", quantity: 5, unit_cost: 1300 }] },
      201,
    );
    // old: 15 on hand at 1026.6; new: 5 at 1300 → (1026.6 × 15 + 1300 × 5) / 20 = 1094.95
    const cost = await ok(t, "GET", "/v1/costs?sku=GEAR");
    expect(cost.avg_cost_exact).toBeCloseTo(1094.95, 6);
    expect(cost.avg_cost).toBe(1095);
    expect(r2.lines[0].avg_cost_after).toBe(1095);
    expect(
      cost.history.map((h: { old_quantity: number; quantity: number }) => [h.old_quantity, h.quantity]),
    ).toEqual([
      [15, 5],
      [10, 5],
    ]);
    const events = await t.db
      .selectFrom("outbox_events")
      .select("type")
      .where("type", "=", "variant_cost.changed")
      .execute();
    expect(events.length).toBeGreaterThanOrEqual(3);
  });
});
