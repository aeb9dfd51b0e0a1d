import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../test/fakes/shopify.js";
import { FakeWooCommerce } from "../../../test/fakes/woocommerce.js";
import { type TestContext, testDatabase } from "../../../test/helpers.js";
import { api, expectLedgerConsistent, location, ok, product, stock } from "../../../test/shop.js";
import { createDb } from "../../db/pool.js";
import { buildApp } from "../../http/app.js";
import { createApiKey } from "../../http/auth.js";
import { processInbox } from "./inbox.js";
import { inboxHandlers } from "./inbox-handlers.js";
import { pushDirtyWooStock, pushWooStock } from "./woocommerce/stock.js";

/**
 * The issue's first scenario, at test scale: a Shopify store and a WooCommerce store sell the
 * same 20 SKUs as the own web store (through the API), all at once, 200 orders each. Each shop
 * sells only what it shows (its level > 0, as a shop that denies overselling does) and sends its
 * webhook, signed like the real thing; Keel applies them from its inbox (two processors, as two
 * processes would) and pushes stock back. 500 units meet 600 orders: the shops sell on levels a
 * moment old, so some of their orders find Keel's units taken (measured: 100 of 400, all open
 * failures naming the order). Afterwards: no unit held twice, the ledger clean (`keel doctor`'s
 * check), every delivery applied or visibly failed, and each channel's level is what its policy
 * offers.
 */

let t: TestContext;
let shop: FakeShopify;
let woo: FakeWooCommerce;
const L1 = "gid://shopify/Location/901";
const SKUS = Array.from({ length: 20 }, (_, i) => `MX-${i + 1}`);
const PER_SKU = 25; // 500 units for 600 orders: the storefronts race for the last ones
const SHOP_SECRET = "whsec-scenario";
const WOO_SECRET = "woo-scenario-secret";
const WOO_ORDER = readFileSync(
  new URL("../../../test/fixtures/woocommerce-order.json", import.meta.url),
  "utf8",
);
const sign = (body: string, secret: string) => createHmac("sha256", secret).update(body).digest("base64");

beforeAll(async () => {
  shop = new FakeShopify({ seed: false, maximumAvailable: 2000, restoreRate: 1000 });
  shop.addLocation(L1);
  shop.addProducts("MX-", SKUS.length);
  await shop.start();
  woo = new FakeWooCommerce();
  await woo.start();
  for (const sku of SKUS) woo.addSimple(sku, 0);
  const database = await testDatabase();
  const db = createDb(database.url, 20);
  const app = await buildApp({
    db,
    logger: false,
    dispatch: {
      intervalMs: 20,
      shopify: { client: { backoff: { baseMs: 20, capMs: 200 }, maxAttempts: 5, timeoutMs: 5000 } },
    },
  });
  await app.ready();
  const { key } = await createApiKey(db, "test");
  t = {
    db,
    app,
    url: database.url,
    key,
    auth: { authorization: `Bearer ${key}` },
    async close() {
      await app.close();
      await db.destroy();
      await database.drop();
    },
  };
  await location(t, "wh1", 10);
  await product(t, SKUS);
  for (const sku of SKUS) await stock(t, sku, "wh1", PER_SKU);
  const channel = (kind: string, code: string, config: Record<string, unknown>) =>
    ok(t, "POST", "/v1/channels", { kind, name: code, code, config }, 201);
  await channel("shopify", "sx", {
    shop_domain: "keel-sx.myshopify.com",
    api_version: "2026-07",
    access_token: shop.token,
    webhook_secret: SHOP_SECRET,
    locations: { wh1: L1 },
    base_url: shop.url,
    products: "off",
  });
  await channel("woocommerce", "wx", {
    base_url: woo.baseUrl,
    consumer_key: woo.consumerKey,
    consumer_secret: woo.consumerSecret,
    webhook_secret: WOO_SECRET,
  });
  const res = await api(t, "POST", "/v1/channels/sx/sync", { what: "products" });
  const { job } = res.json();
  await until(async () => (await ok(t, "GET", `/v1/channels/sx/sync/${job.id}`)).status === "done");
  await pushWooStock(t.db, "wx");
  await until(() => SKUS.every((s) => shop.available(s, L1) === PER_SKU), 30_000, "the first Shopify push");
  expect(SKUS.every((s) => woo.bySku(s)?.stock_quantity === PER_SKU)).toBe(true);
}, 120_000);

afterAll(async () => {
  await shop?.close();
  await woo?.stop();
  await t?.close();
});

async function until(cond: () => Promise<boolean> | boolean, ms = 30_000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pick = (i: number) => SKUS[(i * 7 + 3) % SKUS.length];
let seq = 0;

async function shopifySale(i: number): Promise<boolean> {
  const sku = pick(i);
  if ((shop.available(sku, L1) ?? 0) < 1) return false; // the shop shows it sold out
  const { body } = shop.storefrontOrder({ lines: [{ sku, quantity: 1 }], location: L1 });
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/channels/sx/webhooks",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": "orders/create",
      "x-shopify-hmac-sha256": sign(body, SHOP_SECRET),
      "x-shopify-shop-domain": "keel-sx.myshopify.com",
      "x-shopify-webhook-id": `sx-${++seq}`,
      "x-shopify-event-id": `sx-ev-${seq}`,
      "x-shopify-triggered-at": new Date().toISOString(),
    },
    payload: body,
  });
  expect(res.statusCode).toBe(200);
  return true;
}

async function wooSale(i: number): Promise<boolean> {
  const sku = pick(i + 11);
  const item = woo.bySku(sku)!;
  if ((item.stock_quantity ?? 0) < 1) return false;
  woo.sell(sku, 1);
  const fixture = JSON.parse(WOO_ORDER);
  const id = 20_000 + i;
  const now = new Date().toISOString().slice(0, 19);
  const body = JSON.stringify({
    ...fixture,
    id,
    number: String(id),
    date_created_gmt: now,
    date_modified_gmt: now,
    line_items: [{ ...fixture.line_items[1], id: id * 10, sku, product_id: item.id, variation_id: 0 }],
  });
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/channels/wx/webhooks",
    headers: {
      "content-type": "application/json",
      "x-wc-webhook-topic": "order.created",
      "x-wc-webhook-resource": "order",
      "x-wc-webhook-event": "created",
      "x-wc-webhook-id": "7",
      "x-wc-webhook-delivery-id": "same-second-hash",
      "x-wc-webhook-signature": sign(body, WOO_SECRET),
    },
    payload: body,
  });
  expect(res.statusCode).toBe(200);
  return true;
}

async function ownSale(i: number): Promise<number> {
  const res = await api(t, "POST", "/v1/orders", {
    currency: "EUR",
    lines: [{ sku: pick(i + 5), quantity: 1, unit_price: 1500 }],
    customer: { email: `own${i}@example.com` },
    payment: { status: "paid", amount: 1500 },
    shipping_address: { country: "DE", line1: "Hauptstr. 1", city: "Berlin", postal_code: "10115" },
  });
  expect([201, 409]).toContain(res.statusCode);
  return res.statusCode;
}

describe("three storefronts, one stock", () => {
  it("200 Shopify, 200 WooCommerce and 200 own orders at once: nothing sold twice, every channel converged", async () => {
    let running = true;
    const handlers = inboxHandlers();
    // two inbox processors and the WooCommerce push, as the background jobs of two processes would run
    const background = [
      ...[0, 1].map(async () => {
        while (running) {
          await processInbox(t.db, handlers, 50);
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
      (async () => {
        while (running) {
          await pushDirtyWooStock(t.db);
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
    ];
    const sold = { shopify: 0, woo: 0, own: 0 };
    try {
      for (let i = 0; i < 200; i += 10) {
        const batch = Array.from({ length: 10 }, (_, k) => i + k);
        const r = await Promise.all([
          ...batch.map((n) => shopifySale(n).then((ok) => ok && sold.shopify++)),
          ...batch.map((n) => wooSale(n).then((ok) => ok && sold.woo++)),
          ...batch.map((n) => ownSale(n).then((s) => s === 201 && sold.own++)),
        ]);
        expect(r).toHaveLength(30);
      }
      expect(sold.shopify + sold.woo + sold.own).toBeGreaterThanOrEqual(SKUS.length * PER_SKU * 0.9);
      await until(
        async () =>
          Number(
            (
              await sql<{
                n: number;
              }>`select count(*)::int as n from channel_inbox where status = 'pending'`.execute(t.db)
            ).rows[0].n,
          ) === 0,
        60_000,
        "the inbox drained",
      );
      // converged: each shop shows what Keel's policy offers it now
      await until(
        async () => {
          for (const sku of SKUS) {
            const a = await ok(t, "GET", `/v1/inventory/availability?sku=${sku}&channel=sx`);
            const w = await ok(t, "GET", `/v1/inventory/availability?sku=${sku}&channel=wx`);
            if (shop.available(sku, L1) !== a.channel.offered) return false;
            if (woo.bySku(sku)?.stock_quantity !== w.channel.offered) return false;
          }
          return true;
        },
        60_000,
        "every channel's last pushed value equal to what its policy offers",
      );
    } finally {
      running = false;
      await Promise.all(background);
    }
    await expectLedgerConsistent(t);
    // no unit held twice: per SKU, what orders hold never exceeds what was there
    const held = await sql<{ sku: string; n: number }>`
      select l.sku, sum(a.reserved + a.allocated)::int as n
      from order_allocations a join order_lines l on l.id = a.line_id group by l.sku`.execute(t.db);
    for (const h of held.rows) expect(h.n).toBeLessThanOrEqual(PER_SKU);
    // every channel order delivered is in Keel, or a visible failure; none dropped
    const inbox = await sql<{ status: string; n: number }>`
      select status, count(*)::int as n from channel_inbox group by status`.execute(t.db);
    const by = Object.fromEntries(inbox.rows.map((r) => [r.status, r.n]));
    expect((by.done ?? 0) + (by.failed ?? 0)).toBe(sold.shopify + sold.woo);
    const orders = await sql<{
      n: number;
    }>`select count(*)::int as n from channel_orders where order_id is not null`.execute(t.db);
    expect(orders.rows[0].n).toBe(by.done ?? 0);
    if (by.failed) {
      const open = await sql<{ n: number }>`select count(*)::int as n from integration_failures
        where source = 'channel-inbox' and status = 'open'`.execute(t.db);
      expect(open.rows[0].n).toBe(by.failed);
    }
  }, 240_000);
});
