import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, expectLedgerConsistent, level, ok, stock } from "../../test/shop.js";
import { onStockArrival } from "../inventory/arrivals.js";
import { expectedDateFor } from "./expected.js";
import { draft, locationId, purchasingShop, rowCounts, variantId } from "./testing.js";

let t: TestContext;
/** Every stockArrived call, as the orders module would see it. */
const arrivals: { variantId: number; locationId: number }[][] = [];
onStockArrival(async (_tx, arrived) => {
  arrivals.push(arrived);
});

beforeAll(async () => {
  t = await testApp();
  await purchasingShop(t);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

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
    const before = await rowCounts(t);
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
    expect(await rowCounts(t)).toEqual(before);
  });
});

describe("purchase order lifecycle", () => {
  it("draft → submitted → partially_received → received → closed, with incoming, on_hand, backorder fill", async () => {
    await stock(t, "BOLT", "MAIN", 4);
    const po = await draft(t, [
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
    expect(await expectedDateFor(t.db, await variantId(t, "NUT"))).toBe(plus(3));
    expect(await expectedDateFor(t.db, await variantId(t, "NUT"), await locationId(t, "QC"))).toBeNull();

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
      [{ variantId: await variantId(t, "BOLT"), locationId: await locationId(t, "MAIN") }],
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
    expect(await expectedDateFor(t.db, await variantId(t, "NUT"))).toBeNull();

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
    const a = await draft(t, [{ sku: "WASHER", quantity: 3, unit_cost: 50 }]);
    expect((await ok(t, "POST", `/v1/purchase-orders/${a.id}/cancel`, {})).status).toBe("cancelled");
    const b = await draft(t, [{ sku: "WASHER", quantity: 7, unit_cost: 50 }]);
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

    const c = await draft(t, [{ sku: "WASHER", quantity: 10, unit_cost: 50 }]);
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

  it("refuses bad orders and receipts with a clear 4xx, changing nothing", async () => {
    const po = await draft(t, [{ sku: "BOLT", quantity: 2 }]);
    const before = await rowCounts(t);
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
    const after = await rowCounts(t);
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
    expect(await rowCounts(t)).toEqual(after);
    expect(after.purchase_orders).toBe(before.purchase_orders);
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/cancel`, {});
  });
});

describe("documentation", () => {
  it("documents every purchasing, replenishment and count route in /openapi.json", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    for (const path of [
      "/v1/suppliers",
      "/v1/suppliers/{code}/items",
      "/v1/purchase-orders",
      "/v1/purchase-orders/{id}/submit",
      "/v1/purchase-orders/{id}/receipts",
      "/v1/receiving-settings",
      "/v1/costs",
      "/v1/reorder-rules",
      "/v1/replenishment/suggestions",
      "/v1/replenishment/purchase-orders",
      "/v1/counts",
      "/v1/counts/{id}/approve",
      "/v1/reports/inventory-accuracy",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const receipt = doc.paths["/v1/purchase-orders/{id}/receipts"].post;
    expect(receipt.responses["201"].content["application/json"].schema.properties).toHaveProperty(
      "purchase_order",
    );
  });
});
