import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeWooCommerce } from "../../../../test/fakes/woocommerce.js";
import { type TestContext, testApp } from "../../../../test/helpers.js";
import { location, ok, product, stock } from "../../../../test/shop.js";
import { sendWooShipments } from "./shipments.js";

/** Shipments back to a local WooCommerce (test/fakes/woocommerce.ts): a tracking note, then `completed`. */

let t: TestContext;
let woo: FakeWooCommerce;
const SKUS = ["WS-1", "WS-2"];
const fast = { client: { attempts: 2, backoffMs: 10, timeoutMs: 1000 }, retryBaseMs: 1 };

beforeAll(async () => {
  woo = new FakeWooCommerce();
  await woo.start();
  t = await testApp();
  await location(t, "main", 1, "DE");
  await product(t, SKUS);
  for (const sku of SKUS) await stock(t, sku, "main", 50);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "woocommerce",
      name: "Woo",
      code: "woo",
      config: {
        base_url: woo.baseUrl,
        consumer_key: woo.consumerKey,
        consumer_secret: woo.consumerSecret,
        webhook_secret: "woo-webhook-secret",
      },
    },
    201,
  );
  await until(async () =>
    Boolean(
      await t.db
        .selectFrom("outbox_cursors")
        .select("consumer")
        .where("consumer", "=", "woocommerce-shipments")
        .executeTakeFirst(),
    ),
  );
}, 60_000);

afterAll(async () => {
  await woo?.stop();
  await t?.close();
});

async function until(cond: () => Promise<boolean> | boolean, ms = 15_000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The docs' order 727 on the fake (renumbered), and its Keel order as the inbox would place it. */
async function wooOrder(id: number, lines: { sku: string; quantity: number }[]) {
  woo.addFixtureOrder(id);
  const o = await ok(
    t,
    "POST",
    "/v1/orders",
    {
      channel: "woo",
      external_id: String(id),
      currency: "EUR",
      lines: lines.map((l) => ({ ...l, unit_price: 1000 })),
      customer: { email: "john.doe@example.com" },
      payment: { status: "paid", amount: 1000 * lines.reduce((a, l) => a + l.quantity, 0) },
      shipping_address: { country: "DE", line1: "Hauptstr. 1", city: "Berlin", postal_code: "10115" },
    },
    201,
  );
  return o.id as number;
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
  await until(
    async () =>
      Boolean(
        await t.db
          .selectFrom("woo_shipments")
          .select("state")
          .where("fulfilment_id", "=", f.id)
          .executeTakeFirst(),
      ),
    10_000,
    "the shipment row",
  );
  return f.id as number;
}

const row = (id: number) =>
  t.db.selectFrom("woo_shipments").selectAll().where("fulfilment_id", "=", id).executeTakeFirstOrThrow();

async function drain(id: number, state = "sent") {
  await until(
    async () => {
      await sendWooShipments(t.db, fast);
      return (await row(id)).state === state;
    },
    15_000,
    `shipment ${id} ${state}`,
  );
}

describe("WooCommerce shipments back", () => {
  it("a partial parcel: a tracking note only; the last parcel: its note and the order completed", async () => {
    const id = await wooOrder(9001, [
      { sku: "WS-1", quantity: 1 },
      { sku: "WS-2", quantity: 1 },
    ]);
    const first = await ship(id, "DHL", "JJD0099", [{ sku: "WS-1", quantity: 1 }]);
    // the monitor's channel health counts the shipment on its way
    expect(await ok(t, "GET", "/v1/channels/woo/health")).toMatchObject({ pending: 1 });
    await drain(first);
    expect(await ok(t, "GET", "/v1/channels/woo/health")).toMatchObject({ pending: 0, status: "ok" });
    expect(woo.orders.get(9001)?.status).toBe("processing");
    expect(woo.notes.get(9001)).toHaveLength(1);
    expect(woo.notes.get(9001)?.[0]).toMatchObject({
      customer_note: true,
      note: `Shipped with DHL JJD0099: https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?tracking-id=JJD0099 (Keel fulfilment ${first})`,
    });
    const second = await ship(id, "DHL", "JJD0100");
    await drain(second);
    expect(woo.orders.get(9001)?.status).toBe("completed");
    expect(woo.orders.get(9001)?.date_completed_gmt).not.toBeNull();
    expect(woo.notes.get(9001)).toHaveLength(2);
    expect(await row(second)).toMatchObject({ completed: true, error: null });
  });

  it("the note's reply is lost: the next attempt finds the note and does not write it twice", async () => {
    const id = await wooOrder(9002, [{ sku: "WS-2", quantity: 2 }]);
    const fid = await ship(id, "UPS", "1Z999AA10123456784");
    // GET notes answers, the POST is applied and its reply dropped
    woo.inject({ kind: "slow", ms: 0 }, { kind: "drop-reply" });
    await drain(fid);
    expect(woo.notes.get(9002)).toHaveLength(1);
    expect(woo.orders.get(9002)?.status).toBe("completed");
    expect((await row(fid)).attempt).toBe(2);
    const f = await t.db
      .selectFrom("integration_failures")
      .selectAll()
      .where("subject", "=", `woo:fulfilment ${fid}`)
      .executeTakeFirstOrThrow();
    expect(f).toMatchObject({ status: "resolved", operation: "confirm_shipment" }); // visible, then resolved
  });

  it("WooCommerce down (503s): retried with backoff until it answers", async () => {
    const id = await wooOrder(9003, [{ sku: "WS-1", quantity: 1 }]);
    const fid = await ship(id, "DPD", "0123456789");
    woo.inject(...Array.from({ length: 4 }, () => ({ kind: "status" as const, status: 503 })));
    await drain(fid);
    expect((await row(fid)).attempt).toBeGreaterThanOrEqual(2);
    expect(woo.notes.get(9003)).toHaveLength(1);
    expect(woo.orders.get(9003)?.status).toBe("completed");
  });

  it("an order WooCommerce does not have: failed at once (404), recorded in the monitor", async () => {
    const id = await ok(
      t,
      "POST",
      "/v1/orders",
      {
        channel: "woo",
        external_id: "424242",
        currency: "EUR",
        lines: [{ sku: "WS-1", quantity: 1, unit_price: 1000 }],
        customer: { email: "x@example.com" },
        payment: { status: "paid", amount: 1000 },
        shipping_address: { country: "DE", line1: "Hauptstr. 1", city: "Berlin", postal_code: "10115" },
      },
      201,
    );
    const fid = await ship(id.id, "DHL", "JJD404");
    await drain(fid, "failed");
    expect((await row(fid)).error).toContain("404");
    const f = await t.db
      .selectFrom("integration_failures")
      .selectAll()
      .where("subject", "=", `woo:fulfilment ${fid}`)
      .executeTakeFirstOrThrow();
    expect(f).toMatchObject({ status: "open", channel_code: "woo", source: "woocommerce" });

    // the order turns up on the shop: retried from the monitor, sent once
    woo.addFixtureOrder(424242);
    await ok(t, "POST", `/v1/integrations/failures/${f.id}/retry`);
    await drain(fid);
    expect(woo.notes.get(424242)).toHaveLength(1);
    expect(woo.orders.get(424242)?.status).toBe("completed");
  });
});
