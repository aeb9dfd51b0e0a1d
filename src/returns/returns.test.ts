import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, level, location, ok, product, stock } from "../../test/shop.js";
import { onStockArrival } from "../inventory/arrivals.js";
import { expectConsistent, orderBody, place } from "../orders/testing.js";
import { DEFAULT_RETURN_SETTINGS } from "./settings.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  await location(t, "RETURNS", 5);
  await product(t, ["JEANS-32", "JEANS-34"]);
  await product(t, ["BELT"]);
  await product(t, ["SET-PARTA"]);
  await product(t, ["OUTFIT"], {
    kind: "bundle",
    components: [
      { sku: "JEANS-34", quantity: 1 },
      { sku: "SET-PARTA", quantity: 2 },
    ],
  });
  for (const sku of ["JEANS-32", "JEANS-34", "BELT", "SET-PARTA"]) await stock(t, sku, "MAIN", 20);
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

/** An order for these lines, paid, shipped in full and (optionally) delivered. */
async function shippedOrder(lines: { sku: string; quantity: number; unit_price?: number }[], deliver = true) {
  const body = orderBody(lines);
  const total = body.lines.reduce((s, l) => s + l.quantity * l.unit_price, 0);
  const o = await place(t, { ...body, payment: { status: "paid", amount: total } });
  const f = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "DHL", tracking_number: `T${o.id}` });
  if (deliver) await ok(t, "POST", `/v1/fulfillments/${f.id}/deliver`);
  return { order: o, total };
}

const act = (id: number | string, action: string, body?: unknown, status = 200) =>
  ok(t, "POST", `/v1/returns/${id}/${action}`, body, status);

describe("returns", () => {
  it("goes requested → authorised → received → inspected → closed, each disposition a movement", async () => {
    const { order } = await shippedOrder([{ sku: "JEANS-32", quantity: 4 }]);
    const before = await level(t, "JEANS-32", "MAIN");
    const r = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.number, lines: [{ sku: "JEANS-32", quantity: 4, reason: "does_not_fit" }] },
      201,
    );
    expect(r).toMatchObject({
      status: "requested",
      location: "MAIN",
      allowed_actions: ["authorize", "reject"],
    });
    await act(r.id, "authorize");
    const received = await act(r.id, "receive", { lines: [{ sku: "JEANS-32", quantity: 4 }] });
    expect(received.status).toBe("received");
    expect(await level(t, "JEANS-32", "MAIN")).toMatchObject({ return_pending: 4, on_hand: before?.on_hand });
    const partly = await act(r.id, "inspect", {
      lines: [
        { sku: "JEANS-32", quantity: 1, condition: "new", disposition: "restock" },
        { sku: "JEANS-32", quantity: 1, condition: "opened", disposition: "quarantine" },
      ],
    });
    expect(partly.status).toBe("received");
    const done = await act(r.id, "inspect", {
      lines: [
        { sku: "JEANS-32", quantity: 1, condition: "used", disposition: "refurbish", note: "needs a wash" },
        { sku: "JEANS-32", quantity: 1, condition: "damaged", disposition: "scrap" },
      ],
    });
    expect(done.status).toBe("inspected");
    expect(done.lines[0].inspections).toHaveLength(4);
    expect(await level(t, "JEANS-32", "MAIN")).toMatchObject({
      return_pending: 0,
      on_hand: (before?.on_hand ?? 0) + 1,
      quarantine: 2,
    });
    const moves = await ok(t, "GET", `/v1/inventory/movements?reference=return:${r.number}&limit=50`);
    expect(
      moves.data
        .map((m: { reason: string; bucket: string; delta: number }) => `${m.reason} ${m.bucket} ${m.delta}`)
        .sort(),
    ).toEqual(
      [
        "return return_pending 4",
        "restock return_pending -1",
        "restock on_hand 1",
        "return_disposition return_pending -1",
        "return_disposition quarantine 1",
        "return_disposition return_pending -1",
        "return_disposition quarantine 1",
        "scrap return_pending -1",
      ].sort(),
    );
    expect(moves.data.find((m: { note: string | null }) => m.note?.startsWith("refurbish"))?.note).toBe(
      "refurbish: needs a wash",
    );
    const closed = await act(r.id, "close");
    expect(closed.status).toBe("closed");
    expect(closed.timeline.map((s: { to: string }) => s.to)).toEqual([
      "requested",
      "authorised",
      "received",
      "received",
      "inspected",
      "closed",
    ]);
  });

  it("limits quantities to what was shipped and not yet returned", async () => {
    const { order } = await shippedOrder([{ sku: "BELT", quantity: 2 }]);
    const first = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "BELT", quantity: 1, reason: "defective" }] },
      201,
    );
    const tooMany = await api(t, "POST", "/v1/returns", {
      order_id: order.id,
      lines: [{ sku: "BELT", quantity: 2, reason: "defective" }],
    });
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.json().errors).toEqual([
      { path: "body.lines.0.quantity", message: "only 1 shipped and not yet returned" },
    ]);
    await act(first.id, "reject", { reason: "outside policy" });
    // a rejected return gives its units back to what may be returned
    await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "BELT", quantity: 2, reason: "defective" }] },
      201,
    );
    const unshipped = await place(t, orderBody([{ sku: "BELT", quantity: 1 }]));
    const none = await api(t, "POST", "/v1/returns", {
      order_id: unshipped.id,
      lines: [{ sku: "BELT", quantity: 1, reason: "defective" }],
    });
    expect(none.statusCode).toBe(422);
  });

  it("closes the window after the configured days from delivery", async () => {
    const { order } = await shippedOrder([{ sku: "BELT", quantity: 1 }]);
    await sql`update fulfillments set delivered_at = now() - interval '31 days' where order_id = ${order.id}`.execute(
      t.db,
    );
    const late = await api(t, "POST", "/v1/returns", {
      order_id: order.id,
      lines: [{ sku: "BELT", quantity: 1, reason: "defective" }],
    });
    expect(late.statusCode).toBe(422);
    expect(late.json().errors[0].path).toBe("body.order_id");
    const put = await t.app.inject({
      method: "PUT",
      url: "/v1/settings/returns",
      headers: t.auth,
      payload: { window_days: 60, reasons: ["defective", "other"] },
    });
    expect(put.statusCode).toBe(200);
    await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "BELT", quantity: 1, reason: "defective" }] },
      201,
    );
    const badReason = await api(t, "POST", "/v1/returns", {
      order_id: order.id,
      lines: [{ sku: "BELT", quantity: 1, reason: "does_not_fit" }],
    });
    expect(badReason.statusCode).toBe(422);
    await t.app.inject({
      method: "PUT",
      url: "/v1/settings/returns",
      headers: t.auth,
      payload: DEFAULT_RETURN_SETTINGS,
    });
  });

  it("refunds partly and fully, never above what was paid and not refunded; payment status follows", async () => {
    const { order, total } = await shippedOrder([{ sku: "JEANS-34", quantity: 2, unit_price: 5000 }]);
    const r = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "JEANS-34", quantity: 2, reason: "no_longer_needed" }] },
      201,
    );
    await act(r.id, "authorize");
    const part = await act(r.id, "refund", { amount: 4000, reference: "re_1" });
    expect(part.refunded).toBe(4000);
    expect((await ok(t, "GET", `/v1/orders/${order.id}`)).payment_status).toBe("partially_refunded");
    const over = await api(t, "POST", `/v1/returns/${r.id}/refund`, { amount: total });
    expect(over.statusCode).toBe(422);
    expect(over.json().detail).toMatch(/only 6000/);
    await act(r.id, "refund", { amount: 6000 });
    expect((await ok(t, "GET", `/v1/orders/${order.id}`)).payment_status).toBe("refunded");
    expect((await api(t, "POST", `/v1/returns/${r.id}/refund`, { amount: 1 })).statusCode).toBe(422);
  });

  it("returns a bundle as its components, and restocked units fill waiting demand", async () => {
    const arrived: number[] = [];
    onStockArrival(async (_tx, a) => {
      arrived.push(...a.map((x) => x.variantId));
    });
    const { order } = await shippedOrder([{ sku: "OUTFIT", quantity: 1 }]);
    const before = await level(t, "SET-PARTA", "MAIN");
    const r = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "OUTFIT", quantity: 1, reason: "other" }] },
      201,
    );
    await act(r.id, "authorize");
    await act(r.id, "receive", {
      lines: [{ sku: "OUTFIT", quantity: 1, condition: "new", disposition: "restock" }],
    });
    expect(await level(t, "SET-PARTA", "MAIN")).toMatchObject({
      on_hand: (before?.on_hand ?? 0) + 2,
      return_pending: 0,
    });
    expect(arrived.length).toBeGreaterThanOrEqual(2);
  });

  it("creates an exchange order linked to the return, holding stock at once", async () => {
    const { order } = await shippedOrder([{ sku: "JEANS-32", quantity: 1 }]);
    const r = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "JEANS-32", quantity: 1, reason: "does_not_fit" }] },
      201,
    );
    await act(r.id, "authorize");
    const before = await level(t, "JEANS-34", "MAIN");
    const ex = await act(r.id, "exchange", { lines: [{ sku: "JEANS-34", quantity: 1 }] }, 201);
    expect(ex.exchange_order_id).toBeGreaterThan(0);
    const replacement = await ok(t, "GET", `/v1/orders/${ex.exchange_order_id}`);
    expect(replacement).toMatchObject({ external_id: `exchange-${r.number}`, customer: expect.anything() });
    const after = await level(t, "JEANS-34", "MAIN");
    expect((after?.reserved ?? 0) + (after?.allocated ?? 0)).toBe(
      (before?.reserved ?? 0) + (before?.allocated ?? 0) + 1,
    );
    const twice = await api(t, "POST", `/v1/returns/${r.id}/exchange`, {
      lines: [{ sku: "JEANS-34", quantity: 1 }],
    });
    expect(twice.statusCode).toBe(409);
  });

  it("refuses every invalid transition and bad input with nothing changed", async () => {
    const { order } = await shippedOrder([{ sku: "BELT", quantity: 3 }], false);
    const r = await ok(
      t,
      "POST",
      "/v1/returns",
      { order_id: order.id, lines: [{ sku: "BELT", quantity: 2, reason: "wrong_item" }] },
      201,
    );
    const count = async () =>
      (
        await sql<{
          n: number;
        }>`select (select count(*) from inventory_movements) + (select count(*) from return_timeline) as n`.execute(
          t.db,
        )
      ).rows[0].n;
    const before = await count();
    for (const [action, body] of [
      ["receive", { lines: [{ sku: "BELT", quantity: 1 }] }],
      ["inspect", { lines: [{ sku: "BELT", quantity: 1, condition: "new", disposition: "restock" }] }],
      ["close", undefined],
      ["exchange", { lines: [{ sku: "BELT", quantity: 1 }] }],
    ] as const) {
      const res = await api(t, "POST", `/v1/returns/${r.id}/${action}`, body);
      expect(res.statusCode, action).toBe(409);
      expect(res.json()).toMatchObject({ code: "invalid_transition", allowed: ["authorize", "reject"] });
    }
    await act(r.id, "authorize");
    const after = await count();
    expect(after).toBe(Number(before) + 1);
    const bad: [string, unknown, number][] = [
      [`/v1/returns/${r.id}/receive`, { lines: [{ sku: "BELT", quantity: 3 }] }, 422],
      [`/v1/returns/${r.id}/receive`, { lines: [{ sku: "NOPE", quantity: 1 }] }, 422],
      [`/v1/returns/${r.id}/receive`, { lines: [{ sku: "BELT", quantity: 1, condition: "new" }] }, 422],
      [`/v1/returns/${r.id}/receive`, { lines: [{ sku: "BELT", quantity: 0 }] }, 400],
      [
        `/v1/returns/${r.id}/receive`,
        { lines: [{ sku: "BELT", quantity: 1, disposition: "burn", condition: "new" }] },
        400,
      ],
      [`/v1/returns/${r.id}/reject`, {}, 400],
      ["/v1/returns", { order_id: order.id, lines: [] }, 400],
      ["/v1/returns", { order_id: 99999999, lines: [{ sku: "BELT", quantity: 1, reason: "other" }] }, 404],
      [
        "/v1/returns",
        { order_id: order.id, lines: [{ sku: "JEANS-32", quantity: 1, reason: "other" }] },
        422,
      ],
      ["/v1/returns/R-999999/authorize", {}, 404],
    ];
    for (const [url, body, status] of bad) {
      const res = await api(t, "POST", url, body);
      expect(res.statusCode, `${url} ${JSON.stringify(body)}`).toBe(status);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    expect(await count()).toBe(after);
    const list = await ok(t, "GET", `/v1/returns?order_id=${order.id}`);
    expect(list.data).toHaveLength(1);
  });
});
