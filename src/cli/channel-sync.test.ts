import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../../test/cli.js";
import { FakeShopify } from "../../test/fakes/shopify.js";
import { type TestContext, testDatabase } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { createDb } from "../db/pool.js";
import { buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";

/** `keel channel sync CODE --full` against a fake Shopify: the job runs in the CLI, every level is set. */

let t: TestContext;
let fake: FakeShopify;
const L1 = "gid://shopify/Location/401";
const SKUS = Array.from({ length: 30 }, (_, i) => `CLI-${i + 1}`);

beforeAll(async () => {
  fake = new FakeShopify({ seed: false, maximumAvailable: 1000, restoreRate: 1000 });
  fake.addLocation(L1);
  fake.addProducts("CLI-", SKUS.length);
  fake.setAllLevels(99);
  await fake.start();
  const database = await testDatabase();
  const db = createDb(database.url, 5);
  // no dispatch: nothing in this process sends; the CLI does it all
  const app = await buildApp({ db, logger: false, dispatch: false });
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
  for (const [i, sku] of SKUS.entries()) await stock(t, sku, "wh1", i % 5);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: "Shopify",
      code: "cli",
      config: {
        shop_domain: "keel-cli.myshopify.com",
        api_version: "2026-07",
        access_token: fake.token,
        webhook_secret: "whsec-cli-test",
        locations: { wh1: L1 },
        base_url: fake.url,
      },
    },
    201,
  );
});

afterAll(async () => {
  await fake?.close();
  await t?.close();
});

describe("keel channel sync", () => {
  it("imports products, then a full push sets every level to what Keel offers and reports it", async () => {
    const env = cliEnv({ DATABASE_URL: t.url });
    const products = await runCli(["channel", "sync", "cli", "--what", "products", "--quiet"], env);
    expect(products.stderr).toBe("");
    expect(products.code).toBe(0);
    expect(JSON.parse(products.stdout.split("\n")[0])).toMatchObject({ what: "products", mapped: 30 });

    const full = await runCli(["channel", "sync", "cli", "--full"], env);
    expect(full.code).toBe(0);
    const report = JSON.parse(full.stdout.split("\n")[0]);
    expect(report).toMatchObject({ what: "inventory", full: true, targets: 30, orders_missed: 0 });
    expect(full.stdout).toMatch(/cli: inventory \(full\) done in [\d.]+ s, 30 levels settled/);
    expect(full.stderr).toMatch(/Pushing cli/);
    for (const [i, sku] of SKUS.entries()) expect(fake.available(sku, L1)).toBe(i % 5);
    expect(fake.setCalls.every((c) => c.outcome === "applied")).toBe(true);
  });

  it("refuses a channel it cannot sync, and a --what it does not know", async () => {
    const env = cliEnv({ DATABASE_URL: t.url });
    const [missing, bad] = await Promise.all([
      runCli(["channel", "sync", "nope"], env),
      runCli(["channel", "sync", "cli", "--what", "everything"], env),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^keel: channel nope is not a Shopify channel/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--what/);
  });
});
