import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../../test/fakes/shopify.js";
import { SHOPIFY_TEST_DISPATCH, type TestContext, testApp } from "../../../../test/helpers.js";
import { api, location, ok, product } from "../../../../test/shop.js";
import { decimal } from "./product-export.js";

/** Products out to a fake Shopify: with `products: "export"`, Keel's title, status and prices follow. */

let t: TestContext;
let fake: FakeShopify;
const L1 = "gid://shopify/Location/501";
const PRODUCT = "gid://shopify/Product/700001";
let keelId = 0;

beforeAll(async () => {
  fake = new FakeShopify({ seed: false });
  fake.addLocation(L1);
  for (const [i, sku] of ["PX-1", "PX-2"].entries())
    fake.addVariant({
      id: `gid://shopify/ProductVariant/70000${i + 1}0`,
      productId: PRODUCT,
      productTitle: "Old title",
      sku,
      itemId: `gid://shopify/InventoryItem/70000${i + 1}9`,
    });
  await fake.start();
  t = await testApp({ app: { dispatch: SHOPIFY_TEST_DISPATCH } });
  await location(t, "wh1", 10);
  keelId = (await product(t, ["PX-1", "PX-2"])).id;
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: "Shopify",
      code: "px",
      config: {
        shop_domain: "keel-px.myshopify.com",
        api_version: "2026-07",
        access_token: fake.token,
        webhook_secret: "whsec-px-test",
        locations: { wh1: L1 },
        base_url: fake.url,
        products: "export",
      },
    },
    201,
  );
  const res = await api(t, "POST", "/v1/channels/px/sync", { what: "products" });
  const { job } = res.json();
  await until(async () => (await ok(t, "GET", `/v1/channels/px/sync/${job.id}`)).status === "done");
  await until(async () =>
    Boolean(
      await t.db
        .selectFrom("outbox_cursors")
        .select("consumer")
        .where("consumer", "=", "shopify-products")
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

const push = () =>
  t.db.selectFrom("shopify_product_pushes").selectAll().where("product_gid", "=", PRODUCT).executeTakeFirst();

describe("Shopify products out", () => {
  it("minor units become Shopify's decimal strings", () => {
    expect(decimal(1999, "EUR")).toBe("19.99");
    expect(decimal(5, "EUR")).toBe("0.05");
    expect(decimal(1500, "JPY")).toBe("1500");
    expect(decimal(12345, "KWD")).toBe("12.345");
  });

  it("a changed title, status and price go to the mapped Shopify product", async () => {
    await ok(t, "PATCH", `/v1/products/${keelId}`, {
      title: "Merino tee",
      status: "archived",
      variants: [{ sku: "PX-1", price: 1999 }],
    });
    // (the product's creation may have been sent before: wait for this change)
    await until(
      async () => {
        const p = await push();
        return p?.state === "sent" && p.wanted.title === "Merino tee";
      },
      20_000,
      "the product sent",
    );
    expect(fake.products.get(PRODUCT)).toEqual({ title: "Merino tee", status: "ARCHIVED" });
    expect(fake.prices.get("gid://shopify/ProductVariant/700001" + "0")).toBe("19.99");
    expect(fake.prices.get("gid://shopify/ProductVariant/700002" + "0")).toBe("15.00");
  });

  it("a refusal is a failure in the monitor; the next change that Shopify takes resolves it", async () => {
    fake.variants.find((v) => v.sku === "PX-2")!.id = "gid://shopify/ProductVariant/deleted";
    await ok(t, "PATCH", `/v1/products/${keelId}`, { variants: [{ sku: "PX-2", price: 1700 }] });
    await until(async () => (await push())?.state === "failed", 20_000, "the push failed");
    const f = await t.db
      .selectFrom("integration_failures")
      .selectAll()
      .where("operation", "=", "export_product")
      .where("subject", "=", `px:${PRODUCT}`)
      .executeTakeFirstOrThrow();
    expect(f).toMatchObject({ status: "open", channel_code: "px" });
    expect(f.error).toContain("Product variant does not exist");

    fake.variants.find((v) => v.sku === "PX-2")!.id = "gid://shopify/ProductVariant/7000020";
    await ok(t, "PATCH", `/v1/products/${keelId}`, { title: "Merino tee II" });
    await until(
      async () => {
        const p = await push();
        return p?.state === "sent" && p.wanted.title === "Merino tee II";
      },
      20_000,
      "sent again",
    );
    expect(fake.prices.get("gid://shopify/ProductVariant/7000020")).toBe("17.00");
    expect(fake.products.get(PRODUCT)?.title).toBe("Merino tee II");
    await until(
      async () =>
        (
          await t.db
            .selectFrom("integration_failures")
            .select("status")
            .where("id", "=", f.id)
            .executeTakeFirstOrThrow()
        ).status === "resolved",
      10_000,
      "the failure resolved",
    );
  });

  it("with products: import nothing is pushed", async () => {
    await ok(t, "PATCH", "/v1/channels/px", { config: { products: "import" } });
    const before = fake.productUpdates.length;
    await ok(t, "PATCH", `/v1/products/${keelId}`, { title: "Not sent" });
    const last = await t.db
      .selectFrom("outbox_events")
      .select((eb) => eb.fn.max("id").as("m"))
      .where("type", "=", "product.updated")
      .executeTakeFirstOrThrow();
    await until(
      async () =>
        Number(
          (
            await t.db
              .selectFrom("outbox_cursors")
              .select("last_event_id")
              .where("consumer", "=", "shopify-products")
              .executeTakeFirstOrThrow()
          ).last_event_id,
        ) >= Number(last.m),
      10_000,
      "the consumer past the change",
    );
    expect((await push())?.wanted.title).toBe("Merino tee II");
    expect(fake.productUpdates.length).toBe(before);
  });
});
