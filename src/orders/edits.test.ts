import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, level, location, ok, product, stock } from "../../test/shop.js";
import { invoicesOf, ship } from "../finance/testing.js";
import { expectConsistent, order, orderBody, place, snapshot } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp({ pool: 16 });
  await location(t, "MAIN", 1, "DE");
  await product(t, ["CAP"]);
  await product(t, ["SCARF"]);
  await product(t, ["GLOVE"]);
  await stock(t, "CAP", "MAIN", 20);
  await stock(t, "SCARF", "MAIN", 20);
  await stock(t, "GLOVE", "MAIN", 5);
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

const edit = (id: number, body: unknown) => api(t, "PATCH", `/v1/orders/${id}`, body);

describe("PATCH /v1/orders/{id}", () => {
  it("changes a quantity, adds and removes lines and the address; stock, totals and the timeline follow", async () => {
    const o = await place(
      t,
      orderBody(
        [
          { sku: "CAP", quantity: 2, unit_price: 1000 },
          { sku: "SCARF", quantity: 1, unit_price: 2500 },
        ],
        { shipping_total: 500 },
      ),
    );
    const cap = (await level(t, "CAP", "MAIN"))!;
    const scarf = (await level(t, "SCARF", "MAIN"))!;
    const glove = (await level(t, "GLOVE", "MAIN"))!;
    const res = await edit(o.id, {
      lines: [
        { sku: "CAP", quantity: 5, unit_price: 900 },
        { sku: "GLOVE", quantity: 2, unit_price: 1500 },
      ],
      shipping_address: {
        name: "Ada Buyer",
        line1: "Neue Str. 5",
        city: "Hamburg",
        postal_code: "20095",
        country: "DE",
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const edited = res.json();
    expect(edited).toMatchObject({ subtotal: 5 * 900 + 2 * 1500, total: 5 * 900 + 2 * 1500 + 500 });
    expect(edited.shipping_address.city).toBe("Hamburg");
    const held = (s: Record<string, number>) => s.reserved + s.allocated;
    expect(held((await level(t, "CAP", "MAIN"))!)).toBe(held(cap) + 3);
    expect(held((await level(t, "SCARF", "MAIN"))!)).toBe(held(scarf) - 1);
    expect(held((await level(t, "GLOVE", "MAIN"))!)).toBe(held(glove) + 2);
    expect(edited.timeline.at(-1)).toMatchObject({ action: "edit" });
    expect(
      edited.timeline.some(
        (e: { action: string; reason: string }) => e.action === "edit" && /total 5000 → 8000/.test(e.reason),
      ),
    ).toBe(true);
    // the invoice of the edited order is for what it now charges
    await ship(t, o.id);
    const invoices = await invoicesOf(t, o.id);
    expect(invoices.reduce((s, i) => s + i.total, 0)).toBe(8000);
    expect(invoices[0].lines.map((l) => [l.sku ?? l.kind, l.quantity])).toEqual([
      ["CAP", 5],
      ["GLOVE", 2],
      ["shipping", 1],
    ]);
  });

  it("refuses an edit it cannot hold with 409, and changes nothing", async () => {
    const o = await place(t, orderBody([{ sku: "CAP", quantity: 1 }]));
    const before = await snapshot(t);
    const res = await edit(o.id, { lines: [{ sku: "CAP", quantity: 1000, unit_price: 1000 }] });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe("insufficient_stock");
    expect(await snapshot(t)).toEqual(before);
  });

  it("refuses editing an order once a fulfilment exists or it has shipped, and bad input; nothing changes", async () => {
    const o = await place(t, orderBody([{ sku: "SCARF", quantity: 1 }]));
    await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    const before = await snapshot(t);
    const refused = await edit(o.id, { lines: [{ sku: "SCARF", quantity: 2, unit_price: 1000 }] });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe("invalid_transition");
    const shipped = await place(t, orderBody([{ sku: "SCARF", quantity: 1 }]));
    await ship(t, shipped.id);
    expect((await edit(shipped.id, { note: "late" })).statusCode).toBe(409);
    const fresh = await place(t, orderBody([{ sku: "SCARF", quantity: 1 }]));
    const mid = await snapshot(t);
    for (const body of [
      { lines: [{ sku: "NOPE", quantity: 1, unit_price: 1 }] },
      {
        lines: [
          { sku: "CAP", quantity: 1, unit_price: 1 },
          { sku: "CAP", quantity: 2, unit_price: 1 },
        ],
      },
      { lines: [{ sku: "CAP", quantity: 1, unit_price: 100 }], discount_total: 5000 },
    ]) {
      const r = await edit(fresh.id, body);
      expect(r.statusCode, r.body).toBe(422);
    }
    expect((await edit(fresh.id, { lines: [] })).statusCode).toBe(400);
    expect(await snapshot(t)).toEqual(mid);
    expect(before.counts.orders).toBeLessThan(mid.counts.orders);
  });

  it("edits racing other buyers of the same SKU never oversell", async () => {
    const free = async () => {
      const l = (await level(t, "GLOVE", "MAIN"))!;
      return l.on_hand - l.reserved - l.allocated - l.safety_stock;
    };
    await stock(t, "GLOVE", "MAIN", (await level(t, "GLOVE", "MAIN"))!.on_hand + 12 - (await free()));
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push(await place(t, orderBody([{ sku: "GLOVE", quantity: 1 }])));
    expect(await free()).toBe(8);
    // 4 edits to 3 units each (+8 wanted) and 6 new orders of 1 (6 wanted) race for 8 free units
    const results = await Promise.all([
      ...mine.map((o) => edit(o.id, { lines: [{ sku: "GLOVE", quantity: 3, unit_price: 1000 }] })),
      ...Array.from({ length: 6 }, () =>
        api(t, "POST", "/v1/orders", orderBody([{ sku: "GLOVE", quantity: 1 }])),
      ),
    ]);
    const codes = results.map((r) => r.statusCode);
    expect(codes.every((c) => c === 200 || c === 201 || c === 409)).toBe(true);
    expect(codes).toContain(409); // 14 units wanted, 8 free: someone must be refused
    const editedOk = codes.slice(0, 4).filter((c) => c === 200).length;
    const placedOk = codes.slice(4).filter((c) => c === 201).length;
    expect(editedOk * 2 + placedOk).toBeLessThanOrEqual(8);
    expect(await free()).toBe(8 - editedOk * 2 - placedOk);
    expect(await free()).toBeGreaterThanOrEqual(0);
    for (const [i, o] of mine.entries()) {
      const now = await order(t, o.id);
      expect(now.lines[0].quantity).toBe(codes[i] === 200 ? 3 : 1);
    }
  });
});
