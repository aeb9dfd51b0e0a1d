import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../../test/fakes/shopify.js";
import { SHOPIFY_TEST_DISPATCH, type TestContext, testApp } from "../../../../test/helpers.js";
import { location, ok, product, stock } from "../../../../test/shop.js";

/**
 * Shipments back to a fake Shopify, through the real wiring: a Keel fulfilment
 * shipped → fulfillment.shipped in the outbox → the shopify-shipments consumer
 * → the sender → fulfillmentCreate on the order's open fulfillment orders.
 */

let t: TestContext;
let fake: FakeShopify;
const L1 = "gid://shopify/Location/101";
const SKUS = ["SH-1", "SH-2", "SH-3"];
let orderNo = 0;

beforeAll(async () => {
  fake = new FakeShopify({ seed: false });
  fake.addLocation(L1);
  await fake.start();
  t = await testApp({ app: { dispatch: SHOPIFY_TEST_DISPATCH } });
  await location(t, "wh1", 10);
  await product(t, SKUS);
  for (const sku of SKUS) await stock(t, sku, "wh1", 100);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: "Shopify",
      code: "shop",
      config: {
        shop_domain: "keel-ship.myshopify.com",
        api_version: "2026-07",
        access_token: fake.token,
        webhook_secret: "whsec-for-tests",
        locations: { wh1: L1 },
        base_url: fake.url,
        tracking_urls: { "Keel Express": "https://track.example.com/p/{number}" },
      },
    },
    201,
  );
  // the consumer starts at "now": wait for its cursor before any shipment it must see
  await until(async () =>
    Boolean(
      await t.db
        .selectFrom("outbox_cursors")
        .select("consumer")
        .where("consumer", "=", "shopify-shipments")
        .executeTakeFirst(),
    ),
  );
});

afterAll(async () => {
  await fake?.close();
  await t?.close();
});

async function until(cond: () => Promise<boolean> | boolean, ms = 20_000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Shopify order (on the fake and in Keel, as the inbox would place it), ready to fulfil. */
async function shopifyOrder(lines: { sku: string; quantity: number }[], onShopify = true) {
  const gid = `gid://shopify/Order/${820982911946154508n + BigInt(++orderNo)}`;
  if (onShopify) fake.addOrder(gid, lines);
  const o = await ok(
    t,
    "POST",
    "/v1/orders",
    {
      channel: "shop",
      external_id: gid,
      currency: "EUR",
      lines: lines.map((l) => ({ ...l, unit_price: 1000 })),
      customer: { email: "jon@example.com" },
      payment: { status: "paid", amount: 1000 * lines.reduce((a, l) => a + l.quantity, 0) },
      shipping_address: { country: "DE", line1: "Hauptstr. 1", city: "Berlin", postal_code: "10115" },
    },
    201,
  );
  expect(o.status).not.toBe("on_hold");
  return { gid, id: o.id as number };
}

async function ship(
  orderId: number,
  carrier: string,
  tracking: string,
  lines?: { sku: string; quantity: number }[],
) {
  const f = await ok(t, "POST", `/v1/orders/${orderId}/fulfillments`, lines ? { lines } : {}, 201);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pick`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/pack`);
  await ok(t, "POST", `/v1/fulfillments/${f.id}/ship`, { carrier, tracking_number: tracking });
  return f.id as number;
}

const shipment = (id: number) =>
  t.db.selectFrom("shopify_shipments").selectAll().where("fulfilment_id", "=", id).executeTakeFirst();

const failure = (id: number) =>
  t.db
    .selectFrom("integration_failures")
    .selectAll()
    .where("operation", "=", "confirm_shipment")
    .where("subject", "=", `shop:fulfilment ${id}`)
    .executeTakeFirst();

describe("Shopify shipments back", () => {
  it("a shipped fulfilment becomes one fulfillmentCreate with carrier, number and URL, even when its reply is lost", async () => {
    const { gid, id } = await shopifyOrder([
      { sku: "SH-1", quantity: 1 },
      { sku: "SH-2", quantity: 2 },
    ]);
    // the first fulfillmentCreate is applied on Shopify but its reply is lost: the retry must not fulfil twice
    fake.dropReplies(1, "fulfillmentCreate");
    const fid = await ship(id, "DHL", "JJD000390007");
    await until(async () => (await shipment(fid))?.state === "sent", 20_000, "the shipment sent");
    const mine = fake.fulfillments.filter((f) => f.order === gid);
    expect(mine).toHaveLength(1);
    expect(mine[0].trackingInfo).toEqual({
      company: "DHL",
      number: "JJD000390007",
      url: "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?tracking-id=JJD000390007",
    });
    expect(mine[0].items.map((i) => i.quantity)).toEqual([1, 2]);
    expect(fake.orders.get(gid)?.[0].status).toBe("CLOSED");
    const row = await shipment(fid);
    expect(row?.error).toBeNull();
    expect(row?.attempt).toBe(2); // the reply was lost once: a second attempt found nothing left open
    expect(row?.fulfillment_gid).toBeNull();
  });

  it("two parcels of one order: two fulfillments of their own lines; the channel's own tracking URL", async () => {
    const { gid, id } = await shopifyOrder([
      { sku: "SH-1", quantity: 2 },
      { sku: "SH-3", quantity: 1 },
    ]);
    const first = await ship(id, "Keel Express", "KX-1", [{ sku: "SH-1", quantity: 2 }]);
    await until(async () => (await shipment(first))?.state === "sent", 20_000, "the first parcel");
    expect(fake.orders.get(gid)?.[0].status).toBe("IN_PROGRESS");
    const second = await ship(id, "Keel Express", "KX-2");
    await until(async () => (await shipment(second))?.state === "sent", 20_000, "the second parcel");
    const mine = fake.fulfillments.filter((f) => f.order === gid);
    expect(mine.map((f) => (f.trackingInfo as { url: string }).url)).toEqual([
      "https://track.example.com/p/KX-1",
      "https://track.example.com/p/KX-2",
    ]);
    expect(mine.map((f) => f.items.map((i) => i.quantity))).toEqual([[2], [1]]);
    expect(fake.orders.get(gid)?.[0].status).toBe("CLOSED");
  });

  it("Shopify answers 5xx twice: retried, sent once, and the outage was visible in the monitor", async () => {
    const { gid, id } = await shopifyOrder([{ sku: "SH-2", quantity: 1 }]);
    fake.serverErrors(2, 503, undefined, "fulfillmentCreate");
    const fid = await ship(id, "UPS", "1Z999AA10123456784");
    await until(async () => (await shipment(fid))?.state === "sent", 20_000, "the shipment sent");
    expect(fake.fulfillments.filter((f) => f.order === gid)).toHaveLength(1);
    const seen = await t.db
      .selectFrom("integration_failures")
      .select(["status"])
      .where("subject", "=", "shop:server_error")
      .executeTakeFirst();
    expect(seen?.status).toBe("resolved");
  });

  it("an order Shopify does not know: failed, recorded in the monitor; retried from there once it exists", async () => {
    const { gid, id } = await shopifyOrder([{ sku: "SH-3", quantity: 1 }], false);
    const fid = await ship(id, "DHL", "JJD0001");
    await until(async () => (await shipment(fid))?.state === "failed", 20_000, "the shipment failed");
    const f = await failure(fid);
    expect(f).toMatchObject({ status: "open", channel_code: "shop" });
    expect(f?.error).toContain("not found on Shopify");
    const health = await ok(t, "GET", `/v1/integrations/failures?channel=shop&status=open`);
    expect((health.data as { id: number }[]).some((x) => x.id === f!.id)).toBe(true);

    fake.addOrder(gid, [{ sku: "SH-3", quantity: 1 }]);
    await ok(t, "POST", `/v1/integrations/failures/${f!.id}/retry`);
    await until(async () => (await shipment(fid))?.state === "sent", 20_000, "the shipment sent on retry");
    expect(fake.fulfillments.filter((x) => x.order === gid)).toHaveLength(1);
    await until(async () => (await failure(fid))?.status === "resolved", 10_000, "the failure resolved");
  });

  it("a fulfilment of an order from another channel is not sent to Shopify", async () => {
    const o = await ok(
      t,
      "POST",
      "/v1/orders",
      {
        currency: "EUR",
        lines: [{ sku: "SH-1", quantity: 1, unit_price: 1000 }],
        customer: { email: "own@example.com" },
        payment: { status: "paid", amount: 1000 },
        shipping_address: { country: "DE", line1: "Hauptstr. 1", city: "Berlin", postal_code: "10115" },
      },
      201,
    );
    const before = fake.fulfillments.length;
    const fid = await ship(o.id, "DHL", "OWN-1");
    await until(
      async () =>
        Boolean(
          await t.db
            .selectFrom("outbox_cursors as c")
            .innerJoin("outbox_events as e", "e.id", "c.last_event_id")
            .select("c.consumer")
            .where("c.consumer", "=", "shopify-shipments")
            .where("e.id", ">=", (eb) =>
              eb
                .selectFrom("outbox_events")
                .select((x) => x.fn.max("id").as("m"))
                .where("type", "=", "fulfillment.shipped"),
            )
            .executeTakeFirst(),
        ),
      10_000,
      "the consumer past the shipment",
    );
    expect(await shipment(fid)).toBeUndefined();
    expect(fake.fulfillments.length).toBe(before);
  });
});
