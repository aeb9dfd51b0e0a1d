import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../../test/fakes/shopify.js";
import { SHOPIFY_TEST_DISPATCH, type TestContext, testApp } from "../../../../test/helpers.js";
import { api, location, ok, product, stock } from "../../../../test/shop.js";
import { processInbox } from "../inbox.js";
import { inboxHandlers } from "../inbox-handlers.js";
import { scheduleReconciles } from "./sync-jobs.js";

/**
 * The reconcile against a fake Shopify whose storefront takes orders: a
 * webhook lost on purpose is found and its order imported (once), a lost
 * cancellation is applied, and drift made on the shop is found and set back.
 */

let t: TestContext;
let fake: FakeShopify;
const L1 = "gid://shopify/Location/301";
const SKUS = ["RC-1", "RC-2", "RC-3", "RC-4"];
const SECRET = "whsec-reconcile";
let seq = 0;

beforeAll(async () => {
  fake = new FakeShopify({ seed: false, maximumAvailable: 1000, restoreRate: 1000 });
  fake.addLocation(L1);
  fake.addProducts("RC-", SKUS.length);
  await fake.start();
  t = await testApp({ app: { dispatch: SHOPIFY_TEST_DISPATCH } });
  await location(t, "wh1", 10);
  await product(t, SKUS);
  for (const sku of SKUS) await stock(t, sku, "wh1", 20);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: "Shopify",
      code: "rc",
      config: {
        shop_domain: "keel-rc.myshopify.com",
        api_version: "2026-07",
        access_token: fake.token,
        webhook_secret: SECRET,
        locations: { wh1: L1 },
        base_url: fake.url,
      },
    },
    201,
  );
  await sync({ what: "products" });
  await until(async () => SKUS.every((s) => fake.available(s, L1) === 20), 20_000, "the first push");
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

async function sync(body: { what: string; full?: boolean }) {
  const res = await api(t, "POST", "/v1/channels/rc/sync", body);
  expect(res.statusCode).toBe(202);
  const { job } = res.json();
  return waitJob(job.id);
}

async function waitJob(id: number) {
  await until(
    async () => ["done", "failed"].includes((await ok(t, "GET", `/v1/channels/rc/sync/${id}`)).status),
    30_000,
    `sync job ${id}`,
  );
  const done = await ok(t, "GET", `/v1/channels/rc/sync/${id}`);
  expect(done).toMatchObject({ status: "done", error: null });
  return done.progress as Record<string, unknown>;
}

async function deliver(topic: string, body: string) {
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/channels/rc/webhooks",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": topic,
      "x-shopify-hmac-sha256": createHmac("sha256", SECRET).update(body).digest("base64"),
      "x-shopify-shop-domain": "keel-rc.myshopify.com",
      "x-shopify-webhook-id": `rc-${++seq}`,
      "x-shopify-event-id": `rc-ev-${seq}`,
      "x-shopify-triggered-at": new Date().toISOString(),
    },
    payload: body,
  });
  expect(res.statusCode).toBe(200);
  await processInbox(t.db, inboxHandlers(), 100);
}

const keelOrders = (gid: string) =>
  t.db.selectFrom("orders").select(["id", "status"]).where("external_id", "=", gid).execute();

describe("Shopify reconcile", () => {
  let delivered = "";
  let lost = "";

  it("a webhook lost on purpose: the orders reconcile finds and imports the order, once", async () => {
    const a = fake.storefrontOrder({ lines: [{ sku: "RC-1", quantity: 1 }], location: L1 });
    await deliver("orders/create", a.body);
    delivered = a.gid;
    const b = fake.storefrontOrder({ lines: [{ sku: "RC-2", quantity: 3 }], location: L1 }); // never delivered
    lost = b.gid;
    expect(await keelOrders(lost)).toHaveLength(0);

    const report = await sync({ what: "orders" });
    expect(report).toMatchObject({ orders_seen: 2, orders_missed: 1, orders_outdated: 0, orders_applied: 1 });
    const [order] = await keelOrders(lost);
    expect(order).toBeDefined();
    const view = await ok(t, "GET", `/v1/orders/${order.id}`);
    expect(view.lines).toMatchObject([{ sku: "RC-2", quantity: 3, held: 3 }]);
    expect(view.payment_status).toBe("paid");

    // again: nothing new, still one order each
    expect(await sync({ what: "orders" })).toMatchObject({ orders_seen: 2, orders_missed: 0 });
    expect(await keelOrders(lost)).toHaveLength(1);
    expect(await keelOrders(delivered)).toHaveLength(1);
  });

  it("a lost orders/cancelled: the reconcile applies the newer state", async () => {
    await new Promise((r) => setTimeout(r, 5)); // updated_at after what was applied
    fake.cancelShopOrder(delivered);
    const report = await sync({ what: "orders" });
    expect(report).toMatchObject({ orders_outdated: 1, orders_applied: 1 });
    const [order] = await keelOrders(delivered);
    expect(order.status).toBe("cancelled");
  });

  it("the daily reconcile: drift made on the shop is counted, reported and set back", async () => {
    // an admin edit on Shopify: no order, no webhook
    fake.storefrontSale("RC-3", L1, 5);
    fake.storefrontSale("RC-4", L1, -2);
    expect(await scheduleReconciles(t.db)).toBe(1);
    expect(await scheduleReconciles(t.db)).toBe(0); // once a day, whichever process asks
    const job = await t.db
      .selectFrom("shopify_sync_jobs")
      .select("id")
      .where("what", "=", "reconcile")
      .executeTakeFirstOrThrow();
    const report = await waitJob(job.id);
    expect(report).toMatchObject({ levels_checked: 4, levels_drifted: 2, levels_not_stocked: 0 });
    expect(report.drift).toEqual(
      expect.arrayContaining([
        { sku: "RC-3", location: "wh1", shopify: 15, keel: 20 },
        { sku: "RC-4", location: "wh1", shopify: 22, keel: 20 },
      ]),
    );
    await until(
      () => fake.available("RC-3", L1) === 20 && fake.available("RC-4", L1) === 20,
      20_000,
      "the drift set back",
    );
    // the orders' levels: Shopify shows what Keel offers after them
    expect(fake.available("RC-2", L1)).toBe(17);
    expect(fake.available("RC-1", L1)).toBe(20); // cancelled: its unit is back
  });

  it("inventory_levels/update: the echo of Keel's push sends nothing; an edit on Shopify is set back", async () => {
    const item = fake.itemOf("RC-3");
    const calls = () => fake.setCalls.filter((c) => c.items.includes(item)).length;
    const before = calls();
    await deliver("inventory_levels/update", fake.levelWebhookBody("RC-3", L1)); // Keel's own 20, echoed
    await new Promise((r) => setTimeout(r, 500)); // the pusher would have sent by now
    expect(calls()).toBe(before);

    fake.storefrontSale("RC-3", L1, 6); // an edit in the Shopify admin: 20 → 14
    await deliver("inventory_levels/update", fake.levelWebhookBody("RC-3", L1));
    const delivery = await t.db
      .selectFrom("channel_inbox")
      .select("outcome")
      .where("dedupe_key", "=", `webhook:rc-${seq}`)
      .executeTakeFirstOrThrow();
    expect(delivery.outcome).toMatchObject({
      sku: "RC-3",
      sync: "changed on Shopify",
      was: 20,
      keel_offers: 20,
    });
    await until(() => fake.available("RC-3", L1) === 20, 20_000, "the edit set back");
    // set back with the compare value Shopify had: applied, not stale
    const last = fake.setCalls.filter((c) => c.items.includes(item)).at(-1);
    expect(last?.outcome).toBe("applied");
  });
});
