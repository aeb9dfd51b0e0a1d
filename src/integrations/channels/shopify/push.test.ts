import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../../test/fakes/shopify.js";
import { type TestContext, testDatabase } from "../../../../test/helpers.js";
import { api, location, ok, stock } from "../../../../test/shop.js";
import { createDb } from "../../../db/pool.js";
import { buildApp } from "../../../http/app.js";
import { createApiKey } from "../../../http/auth.js";
import { parseKeepingIds } from "../inbox-json.js";

/**
 * Stock out to a fake Shopify, through the real wiring: inventory changes →
 * outbox → the shopify-stock consumer → coalesced targets → the sender →
 * inventorySetQuantities on the fake. Every scenario ends in the same check:
 * nothing pending, and every Shopify level is what the channel's policy offers.
 */

let t: TestContext;
let fake: FakeShopify;
const L1 = "gid://shopify/Location/101";
const L2 = "gid://shopify/Location/202";
const N = 130; // 130 SKUs × 2 locations: the first push needs two batches
const skus = Array.from({ length: N }, (_, i) => `S-${i + 1}`);

beforeAll(async () => {
  fake = new FakeShopify({ seed: false, maximumAvailable: 1000, restoreRate: 500 });
  fake.addLocation(L1);
  fake.addLocation(L2);
  fake.addProducts("S-", N);
  fake.addProducts("SHOPIFY-ONLY-", 3);
  fake.setAllLevels(50); // whatever the shop had before Keel: every level differs from what Keel wants
  await fake.start();

  const database = await testDatabase();
  const db = createDb(database.url, 10);
  const app = await buildApp({
    db,
    logger: process.env.TEST_LOG ? { level: process.env.TEST_LOG } : false,
    dispatch: {
      intervalMs: 20,
      shopify: {
        backoff: { baseMs: 100, capMs: 800 },
        client: { backoff: { baseMs: 20, capMs: 200 }, maxAttempts: 3, timeoutMs: 3000 },
      },
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
  await location(t, "wh2", 20);
  await location(t, "store", 30); // not mapped to Shopify
  for (let i = 0; i < N; i += 10) {
    await ok(
      t,
      "POST",
      "/v1/products",
      {
        title: `Batch ${i}`,
        kind: "physical",
        status: "active",
        options: ["Size"],
        variants: skus
          .slice(i, i + 10)
          .map((sku) => ({ sku, options: { Size: sku }, price: 1000, currency: "EUR" })),
      },
      201,
    );
  }
  for (const [i, sku] of skus.entries()) {
    await stock(t, sku, "wh1", 3 + (i % 4));
    await stock(t, sku, "wh2", 2 + (i % 3));
    if (i % 5 === 0) await stock(t, sku, "store", 4);
  }
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: "Shopify",
      code: "shop",
      config: {
        shop_domain: "keel-test.myshopify.com",
        api_version: "2026-07",
        access_token: fake.token,
        webhook_secret: "whsec-for-tests",
        locations: { wh1: L1, wh2: L2 },
        base_url: fake.url,
      },
    },
    201,
  );
  const put = await t.app.inject({
    method: "PUT",
    url: "/v1/channels/shop/stock-policy",
    headers: t.auth,
    payload: { buffer: 1, share_percent: 90 },
  });
  expect(put.statusCode).toBe(200);
  // the consumer starts at "now": wait for its cursor before any change it must see
  await until(async () =>
    Boolean(
      await t.db
        .selectFrom("outbox_cursors")
        .select("consumer")
        .where("consumer", "=", "shopify-stock")
        .executeTakeFirst(),
    ),
  );
});

afterAll(async () => {
  await fake?.close(); // first: calls in flight then fail fast and the app stops at once
  await t?.close();
});

async function until(cond: () => Promise<boolean> | boolean, ms = 30_000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What the policy offers, laid over wh1 then wh2 (Keel's priority order), each at most what it has. */
async function expected(sku: string): Promise<Record<string, number>> {
  const a = await ok(t, "GET", `/v1/inventory/availability?sku=${sku}&channel=shop`);
  let remaining = a.channel.offered as number;
  const out: Record<string, number> = { [L1]: 0, [L2]: 0 };
  for (const l of a.locations as { location: string; available: number }[]) {
    const gid = l.location === "wh1" ? L1 : l.location === "wh2" ? L2 : null;
    if (!gid) continue;
    out[gid] = Math.min(l.available, remaining);
    remaining -= out[gid];
  }
  return out;
}

const ORDER = readFileSync(
  new URL("../../../../test/fixtures/shopify-order-webhook.json", import.meta.url),
  "utf8",
);
let webhookSeq = 0;
/** The fixture order, as a paid order of these lines under a new GID, delivered signed to Keel's inbox. */
async function deliverOrder(gid: string, lines: { sku: string; quantity: number }[]) {
  const fixture = parseKeepingIds(ORDER) as Record<string, unknown> & { line_items: object[] };
  const body = JSON.stringify({
    ...fixture,
    id: gid.split("/").pop(),
    admin_graphql_api_id: gid,
    name: `#S${++webhookSeq}`,
    currency: "EUR",
    presentment_currency: "EUR",
    financial_status: "paid",
    cancelled_at: null,
    cancel_reason: null,
    line_items: lines.map((l, i) => ({ ...fixture.line_items[0], id: `${gid.split("/").pop()}${i}`, ...l })),
  });
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/channels/shop/webhooks",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": "orders/create",
      "x-shopify-hmac-sha256": createHmac("sha256", "whsec-for-tests").update(body).digest("base64"),
      "x-shopify-shop-domain": "keel-test.myshopify.com",
      "x-shopify-api-version": "2026-07",
      "x-shopify-webhook-id": `push-wh-${webhookSeq}`,
      "x-shopify-event-id": `push-ev-${webhookSeq}`,
      "x-shopify-triggered-at": new Date().toISOString(),
    },
    payload: body,
  });
  expect(res.statusCode).toBe(200);
}

async function health() {
  return ok(t, "GET", "/v1/channels/shop/health");
}

async function converged(which: string[] = skus) {
  // the consumer has seen every change made so far (events go in (txid, id) order, not id order),
  // and the sender has sent what it wrote
  await until(
    async () => {
      const r = await sql<{ n: number }>`select count(*)::int as n from outbox_events e, outbox_cursors c
        join outbox_events ce on ce.id = c.last_event_id
        where c.consumer = 'shopify-stock' and e.type = 'inventory.level_changed'
          and (e.txid, e.id) > (ce.txid, ce.id)`.execute(t.db);
      return r.rows[0].n === 0;
    },
    30_000,
    "the consumer",
  );
  await until(async () => (await health()).pending === 0, 30_000, "nothing pending");
  for (const sku of which) {
    const want = await expected(sku);
    expect({ sku, [L1]: fake.available(sku, L1), [L2]: fake.available(sku, L2) }).toEqual({ sku, ...want });
  }
}

describe("Shopify stock push against the fake shop", () => {
  it("imports the shop's variants by SKU and pushes what the policy offers, ≤ 250 per call", async () => {
    const res = await api(t, "POST", "/v1/channels/shop/sync", { what: "products" });
    expect(res.statusCode).toBe(202);
    const { job } = res.json();
    await until(async () => (await ok(t, "GET", `/v1/channels/shop/sync/${job.id}`)).status === "done");
    const done = await ok(t, "GET", `/v1/channels/shop/sync/${job.id}`);
    expect(done.progress).toMatchObject({
      variants: N + 3,
      mapped: N + 3,
      unknown_in_keel: 3,
      targets: 2 * N,
    });
    await converged();
    const sizes = fake.setCalls.map((c) => c.rows);
    expect(sizes.every((s) => s <= 250)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * N); // every level, in at least two calls
    expect(sizes.length).toBeLessThan(12); // batches, not one call per level
    expect(fake.setCalls.every((c) => c.outcome === "applied")).toBe(true);
    const h = await health();
    expect(h).toMatchObject({ pending: 0, lag_seconds: 0, status: "ok" });
    expect(h.last_success_at).not.toBeNull();
  });

  it("converges after a burst of orders", async () => {
    const placed = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api(t, "POST", "/v1/orders", {
          currency: "EUR",
          lines: [{ sku: skus[(i * 7) % 40], quantity: 1, unit_price: 1000 }],
          customer: { email: `c${i}@example.com` },
          shipping_address: { country: "DE" },
        }),
      ),
    );
    expect(placed.filter((r) => r.statusCode === 201).length).toBeGreaterThan(30);
    await converged(skus.slice(0, 40));
  });

  it("coalesces: 100 changes of one SKU while Shopify is slow become a few calls with the latest value", async () => {
    const item = fake.itemOf("S-77");
    const before = fake.setCalls.filter((c) => c.items.includes(item)).length;
    fake.slow(4, 300);
    await Promise.all(
      Array.from({ length: 100 }, () =>
        ok(
          t,
          "POST",
          "/v1/inventory/adjustments",
          { sku: "S-77", location: "wh1", delta: 1, reason: "found" },
          201,
        ),
      ),
    );
    await converged(["S-77"]);
    const calls = fake.setCalls.filter((c) => c.items.includes(item)).length - before;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(15);
  });

  it("a storefront sale on Shopify meanwhile: CHANGE_FROM_QUANTITY_STALE, read again, pushed again, converged", async () => {
    let sold = false;
    fake.beforeSet = () => {
      if (sold) return;
      sold = true;
      fake.storefrontSale("S-3", L1, 1);
    };
    await stock(t, "S-3", "wh1", 9);
    await until(() => sold, 10_000, "the sale");
    await converged(["S-3"]);
    fake.beforeSet = undefined;
    expect(fake.setCalls.some((c) => c.outcome === "stale" && c.items.includes(fake.itemOf("S-3")))).toBe(
      true,
    );
  });

  it("STALE from a Shopify sale whose order waits in the inbox: the order is ingested before the push again", async () => {
    const gid = "gid://shopify/Order/820982911946160001";
    // Shopify's storefront sells 2 of S-4 at wh1 while Keel pushes; its orders/create is received, not yet applied
    let sold = false;
    fake.beforeSet = () => {
      if (sold) return;
      sold = true;
      fake.storefrontSale("S-4", L1, 2);
    };
    await deliverOrder(gid, [{ sku: "S-4", quantity: 2 }]);
    await stock(t, "S-4", "wh1", 12);
    await until(() => sold, 10_000, "the sale");
    await converged(["S-4"]);
    fake.beforeSet = undefined;
    const item = fake.itemOf("S-4");
    expect(fake.setCalls.some((c) => c.outcome === "stale" && c.items.includes(item))).toBe(true);
    // the pusher applied the order (the inbox job does not run in this test): Keel holds its 2 units
    const order = await t.db
      .selectFrom("orders")
      .select(["id", "status"])
      .where("external_id", "=", gid)
      .executeTakeFirst();
    expect(order?.status).not.toBe("on_hold");
    const held = await ok(t, "GET", `/v1/orders/${order!.id}`);
    expect(held.lines[0]).toMatchObject({ sku: "S-4", quantity: 2, held: 2 });
    // converged() saw every level equal what the policy offers after the order, and no delivery pending
  });

  it("a dropped reply is sent again with the same key: replayed, applied once", async () => {
    fake.dropReplies(1);
    await stock(t, "S-5", "wh2", 7);
    await converged(["S-5"]);
    expect(fake.setCalls.some((c) => c.outcome === "replayed")).toBe(true);
  });

  it("Shopify down, then throttling: nothing lost, failures visible, then resolved", async () => {
    await fake.down(2500);
    // when it comes back, its bucket is empty and slow to refill (the budget learned before cannot know)
    fake.setPlan({ restoreRate: 2 });
    fake.drainBucket();
    const changed = skus.slice(50, 60);
    for (const sku of changed) await stock(t, sku, "wh1", 11);
    await until(
      async () =>
        (
          await t.db
            .selectFrom("integration_failures")
            .select("id")
            .where("channel_code", "=", "shop")
            .where("operation", "=", "push_inventory")
            .where("subject", "=", "shop")
            .where("status", "=", "open")
            .execute()
        ).length === 1,
      10_000,
      "an open push failure",
    );
    const during = await health();
    expect(during.pending).toBeGreaterThan(0);
    expect(during.status).not.toBe("ok");
    const throttledBefore = fake.counts.throttled;
    await until(() => !fake.isDown, 10_000, "the fake back");
    try {
      await converged(changed);
    } finally {
      fake.setPlan({ restoreRate: 500 });
    }
    expect(fake.counts.throttled).toBeGreaterThan(throttledBefore);
    const failures = await ok(t, "GET", "/v1/integrations/failures?channel=shop");
    const mine = (failures.data as { subject: string; status: string }[]).filter((f) =>
      ["shop", "shop:unreachable", "shop:throttled"].includes(f.subject),
    );
    expect([...new Set(mine.map((f) => f.subject))].sort()).toEqual([
      "shop",
      "shop:throttled",
      "shop:unreachable",
    ]);
    await until(
      async () =>
        ((await ok(t, "GET", "/v1/integrations/failures?channel=shop&status=open")).data as unknown[])
          .length === 0,
      10_000,
      "failures resolved",
    );
    expect((await health()).status).toBe("ok");
  });

  it("a full inventory sync pushes every level again and repairs drift made on Shopify", async () => {
    fake.storefrontSale("S-10", L2, 2);
    fake.storefrontSale("S-11", L1, 1);
    const res = await api(t, "POST", "/v1/channels/shop/sync", { what: "inventory", full: true });
    expect(res.statusCode).toBe(202);
    const { job } = res.json();
    await until(async () => (await ok(t, "GET", `/v1/channels/shop/sync/${job.id}`)).status === "done");
    await converged(["S-10", "S-11", "S-12"]);
  });
});
