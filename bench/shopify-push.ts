/**
 * `npx tsx bench/shopify-push.ts [--skus N] [--bucket POINTS] [--rate POINTS_PER_S]`: a full stock push
 * of N SKUs × 2 locations to the fake Shopify (default: Standard plan, 100 points/s restore, a
 * 2,000-point bucket), through the real sender (coalesced targets, 250 quantities per
 * inventorySetQuantities, budget from throttleStatus). Reports the time against the floor the rate
 * limit allows: (total cost − the bucket it starts with) ÷ restore rate, and total cost ÷ restore rate.
 */
import { sql } from "kysely";
import { ShopifyPusher } from "../src/integrations/channels/shopify/push.js";
import { enqueueTargets, shopifyChannels } from "../src/integrations/channels/shopify/targets.js";
import { FakeShopify } from "../test/fakes/shopify.js";
import { freshDatabase, loadStock } from "./lib.js";
import "../src/db/schema-shopify.js";

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg("skus", 2000);
const bucket = arg("bucket", 2000);
const rate = arg("rate", 100);

const env = await freshDatabase();
const fake = new FakeShopify({ seed: false, maximumAvailable: bucket, restoreRate: rate });
try {
  const L1 = "gid://shopify/Location/1";
  const L2 = "gid://shopify/Location/2";
  fake.addLocation(L1);
  fake.addLocation(L2);
  fake.addProducts("B-", N);
  fake.setAllLevels(1);
  await fake.start();
  await loadStock(env.db, { skus: N, locations: ["WH1", "WH2"], onHand: 100, prefix: "B" });
  const config = {
    shop_domain: "bench.myshopify.com",
    api_version: "2026-07",
    access_token: fake.token,
    locations: { WH1: L1, WH2: L2 },
    base_url: fake.url,
  };
  const ch = await sql<{ id: number }>`insert into channels (code, kind, name, config)
    values ('bench-shop', 'shopify', 'Bench shop', ${JSON.stringify(config)}) returning id`.execute(env.db);
  const channelId = ch.rows[0].id;
  await sql`insert into shopify_inventory_items (channel_id, sku, inventory_item_gid, variant_gid)
    select ${channelId}, sku, item, variant
    from unnest(${fake.variants.map((v) => v.sku)}::text[], ${fake.variants.map((v) => v.itemId)}::text[],
                ${fake.variants.map((v) => v.id)}::text[]) as x(sku, item, variant)`.execute(env.db);
  const [channel] = await shopifyChannels(env.db, "bench-shop");

  const pusher = new ShopifyPusher(env.db, { batchesPerRound: 1_000_000 });
  const started = performance.now();
  const targets = await env.db
    .transaction()
    .execute((tx) => enqueueTargets(tx, channel, "all", { force: true }));
  const queued = performance.now();
  let last = 0;
  for (;;) {
    await pusher.round();
    const pending = await env.db
      .selectFrom("shopify_stock_targets")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("state", "=", "dirty")
      .executeTakeFirstOrThrow();
    if (Number(pending.n) === 0) break;
    if (performance.now() - last > 2000) {
      last = performance.now();
      process.stdout.write(`  ${targets - Number(pending.n)}/${targets} levels pushed\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const wrong = fake.variants.filter((v) => fake.levels.get(v.itemId)?.get(L1) !== 100).length;
  const floorFull = fake.counts.cost / rate;
  const floor = Math.max(0, fake.counts.cost - bucket) / rate;
  console.log(
    [
      `Full Shopify push: ${N} SKUs × 2 locations = ${targets} levels; bucket ${bucket}, restore ${rate} points/s`,
      `  queued in ${((queued - started) / 1000).toFixed(2)} s; pushed in ${seconds.toFixed(2)} s`,
      `  calls answered ${fake.counts.answered}, throttled ${fake.counts.throttled}, total cost ${fake.counts.cost} points`,
      `  floor (cost − bucket) ÷ rate = ${floor.toFixed(2)} s (cost ÷ rate = ${floorFull.toFixed(2)} s); ratio ${(seconds / Math.max(floor, 0.001)).toFixed(2)}×`,
      `  levels not at Keel's value afterwards: ${wrong}`,
    ].join("\n"),
  );
} finally {
  await fake.close();
  await env.close();
}
