import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../../test/fakes/shopify.js";
import { type TestContext, testDatabase } from "../../../../test/helpers.js";
import { api, location, ok } from "../../../../test/shop.js";
import { createDb } from "../../../db/pool.js";
import { buildApp } from "../../../http/app.js";
import { createApiKey } from "../../../http/auth.js";

/**
 * Products in: the fake shop seeded with Shopify's own sample product (the iPod Nano of
 * test/fixtures/shopify-product-rest.json, 4 variants at the fixture's location).
 */

let t: TestContext;
let fake: FakeShopify;
const LOC = "gid://shopify/Location/24826418";

beforeAll(async () => {
  fake = new FakeShopify(); // seeded from the fixture
  await fake.start();
  const database = await testDatabase();
  const db = createDb(database.url, 10);
  const app = await buildApp({
    db,
    logger: false,
    dispatch: { intervalMs: 20, shopify: { client: { maxAttempts: 3, timeoutMs: 3000 } } },
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
  await location(t, "main", 10);
  for (const [code, products] of [
    ["imp", undefined],
    ["off", "off"],
  ] as const)
    await ok(
      t,
      "POST",
      "/v1/channels",
      {
        kind: "shopify",
        name: code,
        code,
        config: {
          shop_domain: "jsmith.myshopify.com",
          api_version: "2026-07",
          access_token: fake.token,
          webhook_secret: "whsec-import-test",
          locations: { main: LOC },
          base_url: fake.url,
          ...(products ? { products } : {}),
        },
      },
      201,
    );
});

afterAll(async () => {
  await fake?.close();
  await t?.close();
});

async function sync(code: string) {
  const res = await api(t, "POST", `/v1/channels/${code}/sync`, { what: "products" });
  expect(res.statusCode).toBe(202);
  const { job } = res.json();
  const end = Date.now() + 20_000;
  for (;;) {
    const j = await ok(t, "GET", `/v1/channels/${code}/sync/${job.id}`);
    if (j.status === "done" || j.status === "failed") {
      expect(j).toMatchObject({ status: "done", error: null });
      return j.progress as Record<string, unknown>;
    }
    if (Date.now() > end) throw new Error("sync timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("Shopify products in", () => {
  it("products: off maps the SKUs for stock and creates nothing", async () => {
    const p = await sync("off");
    expect(p).toMatchObject({ variants: 4, mapped: 4, unknown_in_keel: 4, products_created: 0 });
    expect(
      await t.db.selectFrom("variants").select("sku").where("sku", "like", "IPOD2008%").execute(),
    ).toHaveLength(0);
  });

  it("the import takes the shop's product into Keel's catalogue, once, without zeroing Shopify's stock", async () => {
    const p = await sync("imp");
    expect(p).toMatchObject({
      variants: 4,
      mapped: 4,
      products_created: 1,
      variants_created: 4,
      not_imported: [],
      targets: 0,
    });
    const product = await t.db
      .selectFrom("products")
      .selectAll()
      .where("title", "=", "IPod Nano - 8GB")
      .executeTakeFirstOrThrow();
    expect(product.status).toBe("active");
    const variants = await t.db
      .selectFrom("variants")
      .select(["sku", "title", "price", "currency"])
      .where("product_id", "=", product.id)
      .orderBy("position")
      .execute();
    expect(variants).toEqual([
      { sku: "IPOD2008PINK", title: "Pink", price: 19900, currency: "EUR" },
      { sku: "IPOD2008RED", title: "Red", price: 19900, currency: "EUR" },
      { sku: "IPOD2008GREEN", title: "Green", price: 19900, currency: "EUR" },
      { sku: "IPOD2008BLACK", title: "Black", price: 19900, currency: "EUR" },
    ]);
    // Keel has no stock of them yet: Shopify keeps the fixture's levels until Keel's stock changes
    expect(fake.available("IPOD2008RED", LOC)).toBe(20);
    expect(fake.setCalls).toHaveLength(0);

    const again = await sync("imp");
    expect(again).toMatchObject({ products_created: 0, variants_created: 0, unknown_in_keel: 0 });
    const count = await t.db
      .selectFrom("variants")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("sku", "like", "IPOD2008%")
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(4);
  });
});
