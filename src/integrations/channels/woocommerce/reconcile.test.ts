import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeWooCommerce } from "../../../../test/fakes/woocommerce.js";
import { type TestContext, testApp } from "../../../../test/helpers.js";
import { api, location, ok, product, stock } from "../../../../test/shop.js";
import { pushWooStock } from "./stock.js";

/**
 * The WooCommerce reconcile against the fake shop, through POST /v1/channels/{code}/sync:
 * an order whose webhook was lost is imported once, a lost status change is applied,
 * stock drift on the shop is found and corrected. Orders are the docs' order 727 as is.
 */

let t: TestContext;
let woo: FakeWooCommerce;
const SKUS = ["Bar3", "WR-2"]; // Bar3: the variation the docs' order sells

beforeAll(async () => {
  woo = new FakeWooCommerce();
  await woo.start();
  t = await testApp();
  await location(t, "main", 1, "DE");
  await product(t, SKUS);
  for (const sku of SKUS) await stock(t, sku, "main", 30);
  for (const sku of SKUS) woo.addSimple(sku, 0);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "woocommerce",
      name: "Woo",
      code: "wr",
      config: {
        base_url: woo.baseUrl,
        consumer_key: woo.consumerKey,
        consumer_secret: woo.consumerSecret,
        webhook_secret: "woo-webhook-secret",
      },
    },
    201,
  );
}, 60_000);

afterAll(async () => {
  await woo?.stop();
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
  const res = await api(t, "POST", "/v1/channels/wr/sync", body);
  expect(res.statusCode).toBe(202);
  const { job } = res.json();
  await until(
    async () => ["done", "failed"].includes((await ok(t, "GET", `/v1/channels/wr/sync/${job.id}`)).status),
    30_000,
    `sync job ${job.id}`,
  );
  const done = await ok(t, "GET", `/v1/channels/wr/sync/${job.id}`);
  expect(done).toMatchObject({ status: "done", error: null });
  return done.progress as Record<string, unknown>;
}

const keelOrder = () =>
  t.db
    .selectFrom("orders")
    .innerJoin("channels", "channels.id", "orders.channel_id")
    .select(["orders.id", "orders.status"])
    .where("channels.code", "=", "wr")
    .where("orders.external_id", "=", "727")
    .execute();

describe("WooCommerce reconcile", () => {
  it("an order whose webhook was lost is imported by the orders sync, once", async () => {
    woo.addFixtureOrder(); // order 727, exactly as the docs show it
    woo.changeOrder(727, {}); // placed just now (its date_modified is today's)
    expect(await keelOrder()).toHaveLength(0);
    const report = await sync({ what: "orders" });
    expect(report).toMatchObject({ orders_seen: 1, orders_missed: 1, orders_applied: 1, orders_failed: 0 });
    const [o] = await keelOrder();
    const view = await ok(t, "GET", `/v1/orders/${o.id}`);
    // the docs' order has a line without SKU: held with a reason, never dropped; Bar3 is held
    expect(view.status).toBe("on_hold");
    expect(view.lines.find((l: { sku: string }) => l.sku === "Bar3")).toMatchObject({ quantity: 1, held: 1 });
    expect(await sync({ what: "orders" })).toMatchObject({
      orders_seen: 1,
      orders_missed: 0,
      orders_outdated: 0,
    });
    expect(await keelOrder()).toHaveLength(1);
  });

  it("a lost status change (cancelled in wp-admin) is applied", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // date_modified has whole seconds
    woo.changeOrder(727, { status: "cancelled" });
    const report = await sync({ what: "orders" });
    expect(report).toMatchObject({ orders_outdated: 1, orders_applied: 1 });
    const [o] = await keelOrder();
    expect(o.status).toBe("cancelled");
  });

  it("stock drift on the shop is found by the reconcile and corrected", async () => {
    await pushWooStock(t.db, "wr");
    expect(woo.bySku("WR-2")?.stock_quantity).toBe(30);
    woo.sell("WR-2", 4); // a sale racing Keel's absolute set: Keel never hears of it
    const quiet = await pushWooStock(t.db, "wr"); // the regular push trusts what it sent last
    expect(quiet.pushed).toBe(0);
    const report = await sync({ what: "reconcile" });
    expect(report).toMatchObject({ skus_checked: 2, skus_drifted: 1, stock_pushed: 1 });
    expect(report.drift).toEqual([{ sku: "WR-2", woocommerce: 26, sent: 30 }]);
    expect(woo.bySku("WR-2")).toMatchObject({ stock_quantity: 30, stock_status: "instock" });
  });

  it("products in by SKU: what Keel lacks becomes Keel products, once; known SKUs are only mapped", async () => {
    const tee = woo.addVariable(["WT-S", "WT-M"]);
    tee.parent.name = "Woo tee";
    for (const [i, v] of tee.variations.entries()) {
      v.name = `Woo tee - ${["S", "M"][i]}`;
      v.regular_price = "19.50";
    }
    woo.addSimple("WN-1").regular_price = "7.00";
    const report = await sync({ what: "products" });
    expect(report).toMatchObject({ products_created: 2, variants_created: 3, not_imported: [] });
    const variants = await t.db
      .selectFrom("variants")
      .innerJoin("products", "products.id", "variants.product_id")
      .select([
        "variants.sku",
        "variants.title",
        "variants.price",
        "variants.currency",
        "products.title as product",
      ])
      .where("variants.sku", "in", ["WT-S", "WT-M", "WN-1"])
      .orderBy("variants.sku")
      .execute();
    expect(variants).toEqual([
      { sku: "WN-1", title: null, price: 700, currency: "USD", product: "Product WN-1" },
      { sku: "WT-M", title: "Woo tee - M", price: 1950, currency: "USD", product: "Woo tee" },
      { sku: "WT-S", title: "Woo tee - S", price: 1950, currency: "USD", product: "Woo tee" },
    ]);
    const mapped = await t.db
      .selectFrom("channel_woo_items")
      .select(["sku", "product_id", "variation_id"])
      .where("sku", "=", "WT-M")
      .executeTakeFirstOrThrow();
    expect(mapped).toEqual({
      sku: "WT-M",
      product_id: String(tee.parent.id),
      variation_id: String(tee.variations[1].id),
    });
    expect(await sync({ what: "products" })).toMatchObject({ products_created: 0, variants_created: 0 });
  });
});
