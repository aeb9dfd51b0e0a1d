import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, eventsWhen, level, location, ok, product, stock } from "../../test/shop.js";
import { act, expectConsistent, order, orderBody, place, settings, snapshot } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1, "DE");
  await location(t, "WEST", 2, "FR");
  await product(t, ["TEE"]);
  await product(t, ["MUG"]);
  await product(t, ["EBOOK"], { kind: "digital" });
  await product(t, ["GIFT"], {
    kind: "bundle",
    components: [
      { sku: "TEE", quantity: 1 },
      { sku: "MUG", quantity: 2 },
    ],
  });
  await stock(t, "TEE", "EAST", 50);
  await stock(t, "MUG", "EAST", 50);
  await stock(t, "TEE", "WEST", 10);
});
afterAll(() => t.close());
afterEach(() => expectConsistent(t));

const movements = async (reference: string) =>
  (await ok(t, "GET", `/v1/inventory/movements?reference=${reference}&limit=500`)).data.map(
    (m: { reason: string; bucket: string; delta: number; sku: string }) => [
      m.reason,
      m.bucket,
      m.delta,
      m.sku,
    ],
  );

describe("the full lifecycle through HTTP", () => {
  it("places, approves, allocates, picks, packs, ships, delivers and completes", async () => {
    const before = await level(t, "TEE", "EAST");
    const placed = await place(
      t,
      orderBody(
        [
          { sku: "TEE", quantity: 2 },
          { sku: "EBOOK", quantity: 1 },
        ],
        { channel: "manual", external_id: "life-1" },
      ),
    );
    expect(placed).toMatchObject({
      number: expect.stringMatching(/^K-\d{6}$/),
      channel: "manual",
      external_id: "life-1",
      status: "approved",
      payment_status: "pending",
      fulfillment_status: "unfulfilled",
      total: 3000,
    });
    expect(placed.allocations).toMatchObject([
      {
        line_no: 1,
        sku: "TEE",
        location: "EAST",
        quantity: 2,
        state: "allocated",
        reasons: [{ rule: "one_location" }],
      },
    ]);
    expect(
      placed.timeline.map((e: { from: string; to: string; action: string }) => [e.from, e.to, e.action]),
    ).toEqual([
      [null, "received", "place"],
      ["received", "approved", "approve"],
      ["approved", "approved", "allocate"],
    ]);
    expect(await level(t, "TEE", "EAST")).toMatchObject({
      allocated: 2,
      reserved: 0,
      on_hand: before?.on_hand,
    });

    const f = await ok(t, "POST", `/v1/orders/${placed.id}/fulfillments`, {}, 201);
    expect(f).toMatchObject({ status: "pending", location: "EAST", lines: [{ sku: "TEE", quantity: 2 }] });
    expect((await order(t, placed.id)).status).toBe("preparing");
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
    const shipped = await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, {
      carrier: "DHL",
      tracking_number: "00340434",
    });
    expect(shipped).toMatchObject({ status: "shipped", carrier: "DHL", tracking_number: "00340434" });
    const afterShip = await order(t, placed.id);
    expect(afterShip).toMatchObject({ status: "shipped", fulfillment_status: "fulfilled" });
    expect(await level(t, "TEE", "EAST")).toMatchObject({
      on_hand: (before?.on_hand ?? 0) - 2,
      allocated: 0,
    });
    expect(await movements(`order:${placed.id}`)).toEqual(
      expect.arrayContaining([
        ["sale", "on_hand", -2, "TEE"],
        ["sale", "allocated", -2, "TEE"],
        ["allocation", "allocated", 2, "TEE"],
      ]),
    );
    await ok(t, "POST", `/v1/fulfillments/${f.id}/deliver`);
    const done = await order(t, placed.id);
    expect(done).toMatchObject({ status: "completed", fulfillment_status: "delivered", allowed_actions: [] });
    expect(done.timeline.map((e: { to: string }) => e.to)).toEqual(
      expect.arrayContaining(["preparing", "shipped", "completed"]),
    );
    const events = await eventsWhen<{ type: string }>(
      t,
      "/v1/events?type=order.placed,order.approved,order.shipped,order.completed&limit=100",
      (d) => d.length >= 4,
    );
    expect(events.map((e) => e.type)).toEqual([
      "order.placed",
      "order.approved",
      "order.shipped",
      "order.completed",
    ]);
  });

  it("holds a bundle's components and nothing for digital goods", async () => {
    const o = await place(
      t,
      orderBody([
        { sku: "GIFT", quantity: 2 },
        { sku: "EBOOK", quantity: 5 },
      ]),
    );
    expect(
      o.allocations.map((a: { sku: string; for_sku: string; quantity: number }) => [
        a.sku,
        a.for_sku,
        a.quantity,
      ]),
    ).toEqual([
      ["MUG", "GIFT", 4],
      ["TEE", "GIFT", 2],
    ]);
    expect(o.lines.map((l: { sku: string; held: number }) => [l.sku, l.held])).toEqual([
      ["GIFT", 2],
      ["EBOOK", 0],
    ]);
    const f = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    expect(
      f.lines.map((l: { sku: string; for_sku: string; quantity: number }) => [l.sku, l.for_sku, l.quantity]),
    ).toEqual([
      ["MUG", "GIFT", 4],
      ["TEE", "GIFT", 2],
    ]);
    await act(t, o.id, "cancel", { reason: "test over" });
  });

  it("completes an order of digital goods only on approval", async () => {
    const o = await place(t, orderBody([{ sku: "EBOOK", quantity: 1 }]));
    expect(o.status).toBe("completed");
    expect(o.allocations).toEqual([]);
  });
});

describe("invalid transitions", () => {
  /** Posts, expects 409 invalid_transition for `action`, and proves nothing changed. */
  async function refused(url: string, action: string, body: unknown = {}) {
    const before = await snapshot(t);
    const res = await api(t, "POST", url, body);
    expect(res.statusCode, url).toBe(409);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json(), url).toMatchObject({ code: "invalid_transition", action });
    expect(Array.isArray(res.json().allowed)).toBe(true);
    expect(await snapshot(t)).toEqual(before);
    return res.json();
  }

  it("refuses every action the state machine does not allow, naming the allowed ones, changing nothing", async () => {
    await settings(t, { auto_approve: false });
    const o = await place(t, orderBody([{ sku: "TEE", quantity: 1 }]));
    expect(o.status).toBe("received");
    expect(o.allowed_actions).toEqual(["approve", "hold", "cancel"]);
    const atReceived = await refused(`/v1/orders/${o.id}/release`, "release");
    expect(atReceived.detail).toMatch(/not on hold/);
    expect((await refused(`/v1/orders/${o.id}/complete`, "complete")).allowed).toEqual([
      "approve",
      "hold",
      "cancel",
    ]);
    await refused(`/v1/orders/${o.id}/fulfillments`, "create a fulfilment");

    await act(t, o.id, "hold", { reason: "customer called" });
    await refused(`/v1/orders/${o.id}/approve`, "approve");
    await refused(`/v1/orders/${o.id}/fulfillments`, "create a fulfilment");
    await act(t, o.id, "release");
    await act(t, o.id, "approve");
    await refused(`/v1/orders/${o.id}/approve`, "approve");

    const f = await ok(t, "POST", `/v1/orders/${o.id}/fulfillments`, {}, 201);
    await refused(`/v1/fulfillments/${f.id}/pack`, "pack");
    await refused(`/v1/fulfillments/${f.id}/ship`, "ship", { carrier: "UPS", tracking_number: "1Z" });
    await refused(`/v1/fulfillments/${f.id}/deliver`, "deliver");
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
    await refused(`/v1/fulfillments/${f.id}/pick`, "pick");
    await act(t, o.id, "hold", { reason: "address check", code: "address" });
    const onHold = await refused(`/v1/fulfillments/${f.id}/pack`, "pack");
    expect(onHold.detail).toMatch(/on hold \(address\)/);
    await act(t, o.id, "release");
    expect((await order(t, o.id)).status).toBe("preparing");
    await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
    await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "UPS", tracking_number: "1Z999" });

    const cancel = await refused(`/v1/orders/${o.id}/cancel`, "cancel", { reason: "too late" });
    expect(cancel.detail).toMatch(/POST \/v1\/returns/);
    expect(cancel.allowed).toEqual(["complete"]);
    await refused(`/v1/orders/${o.id}/approve`, "approve");
    await refused(`/v1/orders/${o.id}/hold`, "hold", { reason: "check" });
    await refused(`/v1/orders/${o.id}/fulfillments`, "create a fulfilment");
    await refused(`/v1/fulfillments/${f.id}/cancel`, "cancel");
    await refused(`/v1/fulfillments/${f.id}/pick`, "pick");

    await act(t, o.id, "complete");
    await refused(`/v1/orders/${o.id}/complete`, "complete");
    await refused(`/v1/orders/${o.id}/release`, "release");

    const gone = await place(t, orderBody([{ sku: "TEE", quantity: 1 }]));
    await act(t, gone.id, "cancel", { reason: "customer changed their mind" });
    for (const a of ["approve", "hold", "release", "complete"]) {
      await refused(`/v1/orders/${gone.id}/${a}`, a, a === "release" ? {} : { reason: "x" });
    }
    await settings(t, { auto_approve: true });
  });
});
