import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testDatabase } from "../../../../test/helpers.js";
import { ok } from "../../../../test/shop.js";
import { createDb } from "../../../db/pool.js";
import { buildApp } from "../../../http/app.js";
import { createApiKey } from "../../../http/auth.js";
import { processInbox } from "../inbox.js";
import { inboxHandlers } from "../inbox-handlers.js";
import { parseKeepingIds } from "../inbox-json.js";

/**
 * inventory_levels/update against the stock targets (the pusher is not running:
 * only what the delivery itself changes is looked at). Bodies are the fixture's,
 * with the level's fields set.
 */

const LEVEL = readFileSync(
  new URL("../../../../test/fixtures/shopify-inventory-level-webhook.json", import.meta.url),
  "utf8",
);
const SECRET = "whsec-levels-test";
const LOC = "24826418"; // the fixture's location
let t: TestContext;
let channelId = 0;
let seq = 0;
const handlers = inboxHandlers();

beforeAll(async () => {
  const database = await testDatabase();
  const db = createDb(database.url, 5);
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
  const ch = await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: "Levels",
      code: "lv",
      config: {
        shop_domain: "jsmith.myshopify.com",
        api_version: "2026-07",
        access_token: "shpat_0123456789abcdef",
        webhook_secret: SECRET,
        locations: { main: `gid://shopify/Location/${LOC}` },
      },
    },
    201,
  );
  channelId = ch.id;
});

afterAll(async () => {
  await t?.close();
});

/** A synced level as the pusher leaves it after a push went through. */
async function target(item: string, o: { wanted: number; confirmed: number | null; pushedAgoMs?: number }) {
  const sku = `LV-${item}`;
  await sql`insert into shopify_stock_targets
      (channel_id, sku, location_code, location_gid, inventory_item_gid, wanted, confirmed, state, dirty_since, pushed_at)
    values (${channelId}, ${sku}, 'main', ${`gid://shopify/Location/${LOC}`}, ${`gid://shopify/InventoryItem/${item}`},
            ${o.wanted}, ${o.confirmed}, ${o.confirmed === o.wanted ? "clean" : "dirty"},
            ${o.confirmed === o.wanted ? null : new Date()}, ${new Date(Date.now() - (o.pushedAgoMs ?? 1000))})`.execute(
    t.db,
  );
  return sku;
}

const row = (sku: string) =>
  t.db
    .selectFrom("shopify_stock_targets")
    .selectAll()
    .where("channel_id", "=", channelId)
    .where("sku", "=", sku)
    .executeTakeFirstOrThrow();

/** The fixture level with these values, delivered and applied; returns what applying it recorded. */
async function report(item: string, available: number | null, updatedAt = new Date()) {
  const body = JSON.stringify({
    ...(parseKeepingIds(LEVEL) as object),
    inventory_item_id: Number(item),
    available,
    updated_at: updatedAt.toISOString(),
    admin_graphql_api_id: `gid://shopify/InventoryLevel/${LOC}?inventory_item_id=${item}`,
  });
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/channels/lv/webhooks",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": "inventory_levels/update",
      "x-shopify-hmac-sha256": createHmac("sha256", SECRET).update(body).digest("base64"),
      "x-shopify-shop-domain": "jsmith.myshopify.com",
      "x-shopify-webhook-id": `lv-${++seq}`,
      "x-shopify-event-id": `lv-ev-${seq}`,
      "x-shopify-triggered-at": updatedAt.toISOString(),
    },
    payload: body,
  });
  expect(res.statusCode).toBe(200);
  await processInbox(t.db, handlers, 100, { channelId });
  const r = await t.db
    .selectFrom("channel_inbox")
    .select(["status", "outcome"])
    .where("channel_id", "=", channelId)
    .where("dedupe_key", "like", `%lv-${seq}`)
    .executeTakeFirstOrThrow();
  expect(r.status).toBe("done");
  return r.outcome as Record<string, unknown>;
}

describe("inventory_levels/update and the stock push", () => {
  it("the echo of Keel's own push changes nothing", async () => {
    const sku = await target("5001", { wanted: 7, confirmed: 7 });
    const before = await row(sku);
    const out = await report("5001", 7);
    expect(out).toMatchObject({ sku, sync: "echo of Keel's push" });
    expect(await row(sku)).toEqual(before);
  });

  it("a late report from before Keel's last push changes nothing", async () => {
    const sku = await target("5002", { wanted: 4, confirmed: 4 });
    const before = await row(sku);
    const out = await report("5002", 6, new Date(Date.now() - 60_000)); // the echo of an earlier push
    expect(out.sync).toBe("older than Keel's last push");
    expect(await row(sku)).toEqual(before);
  });

  it("a change made on Shopify: recorded, taken as the compare value, set back to Keel's after a grace", async () => {
    const sku = await target("5003", { wanted: 10, confirmed: 10 });
    const out = await report("5003", 3);
    expect(out).toMatchObject({ sku, sync: "changed on Shopify", was: 10, keel_offers: 10 });
    const r = await row(sku);
    expect(r).toMatchObject({ confirmed: 3, state: "dirty", wanted: 10, confirmed_version: 1 });
    expect(new Date(r.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 3_000);
  });

  it("Shopify reports the value Keel wanted but never heard back about: confirmed, clean", async () => {
    const sku = await target("5004", { wanted: 9, confirmed: null });
    const out = await report("5004", 9);
    expect(out.sync).toBe("confirms what Keel wants");
    expect(await row(sku)).toMatchObject({ confirmed: 9, state: "clean", dirty_since: null });
  });

  it("an item Keel does not sync is kept and otherwise left alone", async () => {
    const out = await report("5999", 2);
    expect(out.sync).toBe("not synced by Keel");
    const kept = await t.db
      .selectFrom("channel_inventory_levels")
      .selectAll()
      .where("channel_id", "=", channelId)
      .where("inventory_item_id", "=", "gid://shopify/InventoryItem/5999")
      .executeTakeFirstOrThrow();
    expect(kept).toMatchObject({ available: 2, pending: false });
  });
});
