import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { act, expectConsistent, orderBody, place, settings } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1);
  await product(t, ["A-1"]);
  await product(t, ["B-2"]);
  await product(t, ["C-3"]);
  for (const sku of ["A-1", "B-2", "C-3"]) await stock(t, sku, "EAST", 100);
  await ok(t, "POST", "/v1/channels", { kind: "shopify", name: "Shopify EU", config: { sla_hours: 4 } }, 201);
  await ok(t, "POST", "/v1/channels", { kind: "woocommerce", name: "Woo", config: { sla_hours: 72 } }, 201);
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
const ids = (page: { data: { id: number }[] }) => page.data.map((o) => o.id);

describe("the order queue", () => {
  it("filters by status, channel, hold reason and overdue, sorts by age, and pages", async () => {
    const channels = await ok(t, "GET", "/v1/channels");
    expect(channels.data.map((c: { code: string }) => c.code)).toEqual(["manual", "shopify-eu", "woo"]);
    const late = await place(
      t,
      orderBody([{ sku: "A-1", quantity: 1 }], {
        channel: "shopify-eu",
        external_id: "1001",
        placed_at: hoursAgo(6),
      }),
    );
    const fresh = await place(
      t,
      orderBody([{ sku: "A-1", quantity: 1 }], {
        channel: "shopify-eu",
        external_id: "1002",
        placed_at: hoursAgo(1),
      }),
    );
    const woo = await place(
      t,
      orderBody([{ sku: "B-2", quantity: 1 }], {
        channel: "woo",
        external_id: "w-9",
        placed_at: hoursAgo(10),
      }),
    );
    const held = await place(t, orderBody([{ sku: "C-3", quantity: 1 }], { placed_at: hoursAgo(3) }));
    await act(t, held.id, "hold", { reason: "customer asked to wait", code: "manual" });

    expect(late).toMatchObject({
      overdue: true,
      sla_due_at: new Date(Date.parse(late.placed_at) + 4 * 3_600_000).toISOString(),
    });
    expect(fresh.overdue).toBe(false);
    expect(ids(await ok(t, "GET", "/v1/orders"))).toEqual([woo.id, late.id, held.id, fresh.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?sort=newest"))).toEqual([fresh.id, held.id, late.id, woo.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?channel=shopify-eu"))).toEqual([late.id, fresh.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?overdue=true"))).toEqual([late.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?status=on_hold"))).toEqual([held.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?status=approved,on_hold&channel=manual"))).toEqual([held.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?hold_reason=manual"))).toEqual([held.id]);
    expect(ids(await ok(t, "GET", "/v1/orders?hold_reason=fraud"))).toEqual([]);
    const first = await ok(t, "GET", "/v1/orders?limit=3");
    expect(ids(first)).toEqual([woo.id, late.id, held.id]);
    const second = await ok(t, "GET", `/v1/orders?limit=3&cursor=${first.next_cursor}`);
    expect(ids(second)).toEqual([fresh.id]);
    expect(second.next_cursor).toBeNull();
    const row = first.data[2];
    expect(row).toMatchObject({
      status: "on_hold",
      hold_reasons: [{ code: "manual", detail: "customer asked to wait" }],
      channel: "manual",
    });

    // shipping ends the SLA clock
    const f = await ok(t, "POST", `/v1/orders/${late.id}/fulfillments`, {}, 201);
    for (const step of ["pick", "pack"]) await ok(t, "POST", `/v1/fulfillments/${f.id}/${step}`);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "DHL", tracking_number: "X" });
    expect(ids(await ok(t, "GET", "/v1/orders?overdue=true"))).toEqual([]);
  });

  it("imports the same channel order once: the second time returns it with 200 and holds nothing more", async () => {
    const body = orderBody([{ sku: "B-2", quantity: 4 }], { channel: "woo", external_id: "w-dup" });
    const first = await place(t, body, 201);
    const again = await place(t, { ...body, note: "re-sent by the channel" }, 200);
    expect(again.id).toBe(first.id);
    // one movement: the units went once into the bucket placement holds them in
    const lines = await ok(t, "GET", `/v1/inventory/movements?reference=order:${first.id}`);
    expect(lines.data).toHaveLength(1);
    expect(lines.data[0]).toMatchObject({ sku: "B-2", delta: 4 });
  });
});

describe("pick lists", () => {
  it("list what to pick at a location, sorted by bin then SKU, for one walk through the warehouse", async () => {
    await settings(t, { auto_approve: true });
    await ok(t, "POST", "/v1/bins", { sku: "C-3", location: "EAST", bin: "A-01-1" });
    await ok(t, "POST", "/v1/bins", { sku: "A-1", location: "EAST", bin: "B-07-2" });
    const o1 = await place(
      t,
      orderBody([
        { sku: "A-1", quantity: 2 },
        { sku: "B-2", quantity: 1 },
        { sku: "C-3", quantity: 1 },
      ]),
    );
    const o2 = await place(
      t,
      orderBody([
        { sku: "A-1", quantity: 1 },
        { sku: "C-3", quantity: 5 },
      ]),
    );
    const f1 = await ok(t, "POST", `/v1/orders/${o1.id}/fulfillments`, { location: "EAST" }, 201);
    const f2 = await ok(t, "POST", `/v1/orders/${o2.id}/fulfillments`, {}, 201);
    await ok(t, "POST", `/v1/fulfillments/${f1.id}/pick`);
    await ok(t, "POST", `/v1/fulfillments/${f2.id}/pick`);
    const picking = await ok(t, "GET", "/v1/fulfillments?location=EAST&status=picking");
    expect(picking.data.map((f: { id: number }) => f.id)).toEqual([f1.id, f2.id]);
    expect(
      picking.data[0].lines.map((l: { sku: string; bin: string | null; quantity: number }) => [
        l.bin,
        l.sku,
        l.quantity,
      ]),
    ).toEqual([
      ["A-01-1", "C-3", 1],
      ["B-07-2", "A-1", 2],
      [null, "B-2", 1],
    ]);
    expect(picking.pick_list).toEqual([
      { bin: "A-01-1", sku: "C-3", quantity: 6, fulfillments: [f1.id, f2.id] },
      { bin: "B-07-2", sku: "A-1", quantity: 3, fulfillments: [f1.id, f2.id] },
      { bin: null, sku: "B-2", quantity: 1, fulfillments: [f1.id] },
    ]);
    expect((await ok(t, "GET", "/v1/fulfillments?status=pending&location=EAST")).data).toEqual([]);
    expect(
      (await ok(t, "GET", `/v1/fulfillments?order=${o2.number}`)).data.map((f: { id: number }) => f.id),
    ).toEqual([f2.id]);
    expect((await ok(t, "GET", "/v1/bins?location=EAST")).data).toHaveLength(2);
  });
});
