import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { location, ok, product, stock } from "../../../test/shop.js";
import { open } from "../../secrets/box.js";
import { processInbox } from "./inbox.js";
import { inboxHandlers } from "./inbox-handlers.js";
import { parseKeepingIds } from "./inbox-json.js";

/**
 * Inbound channel webhooks end to end: fixture bodies as the platforms send
 * them (test/fixtures, unchanged), signed as they sign them, posted to
 * POST /v1/channels/{code}/webhooks, then applied by the inbox processor.
 */

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");
const ORDER = fixture("shopify-order-webhook.json");
const REFUND = fixture("shopify-refund-webhook.json");
const FULFILLMENT = fixture("shopify-fulfillment-webhook.json");
const LEVEL = fixture("shopify-inventory-level-webhook.json");
const WOO_ORDER = fixture("woocommerce-order.json");

const SHOP_SECRET = "shopify-app-secret-1";
const WOO_SECRET = "woo-webhook-secret-1";
const sign = (body: string, secret: string) => createHmac("sha256", secret).update(body).digest("base64");

let t: TestContext;
let channelSeq = 0;
const handlers = inboxHandlers();
const processAll = () => processInbox(t.db, handlers, 1000);
/** Applies deliveries until none is pending (one waiting for its order is tried again after its backoff). */
async function drain(timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await processAll();
    const left = await t.db
      .selectFrom("channel_inbox")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("status", "=", "pending")
      .executeTakeFirstOrThrow();
    if (Number(left.n) === 0) return;
    if (Date.now() > until) throw new Error(`${left.n} deliveries still pending`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A body the fixture's way: the fixture order with some fields changed (the platform re-sends its own JSON). */
function variant(raw: string, patch: Record<string, unknown>): string {
  return JSON.stringify({ ...(parseKeepingIds(raw) as object), ...patch });
}

async function shopifyChannel(extra: Record<string, unknown> = {}) {
  const code = `shop-${++channelSeq}`;
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "shopify",
      name: `Shopify ${channelSeq}`,
      code,
      config: {
        shop_domain: "jsmith.myshopify.com",
        api_version: "2026-07",
        access_token: "shpat_0123456789abcdef",
        webhook_secret: SHOP_SECRET,
        locations: { main: "gid://shopify/Location/24826418" },
        ...extra,
      },
    },
    201,
  );
  return code;
}

async function wooChannel() {
  const code = `woo-${++channelSeq}`;
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "woocommerce",
      name: `Woo ${channelSeq}`,
      code,
      config: {
        base_url: "https://shop.example.com",
        consumer_key: "ck_0123456789abcdef",
        consumer_secret: "cs_0123456789abcdef",
        webhook_secret: WOO_SECRET,
      },
    },
    201,
  );
  return code;
}

interface ShopifyDelivery {
  topic: string;
  body: string;
  webhookId?: string;
  eventId?: string;
  triggeredAt?: string;
  secret?: string;
  signature?: string;
}

let webhookSeq = 0;
function postShopify(code: string, d: ShopifyDelivery) {
  return t.app.inject({
    method: "POST",
    url: `/v1/channels/${code}/webhooks`,
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": d.topic,
      "x-shopify-hmac-sha256": d.signature ?? sign(d.body, d.secret ?? SHOP_SECRET),
      "x-shopify-shop-domain": "jsmith.myshopify.com",
      "x-shopify-api-version": "2026-07",
      "x-shopify-webhook-id": d.webhookId ?? `wh-${++webhookSeq}`,
      "x-shopify-event-id": d.eventId ?? `ev-${webhookSeq}`,
      "x-shopify-triggered-at": d.triggeredAt ?? "2026-12-03T10:00:00.000Z",
    },
    payload: d.body,
  });
}

function postWoo(code: string, body: string, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: "POST",
    url: `/v1/channels/${code}/webhooks`,
    headers: {
      "content-type": "application/json",
      "x-wc-webhook-topic": "order.updated",
      "x-wc-webhook-resource": "order",
      "x-wc-webhook-event": "updated",
      "x-wc-webhook-id": "12",
      // wp_hash(webhook id . seconds): the same for every resource sent in one second
      "x-wc-webhook-delivery-id": "6a1b2c3d4e5f",
      "x-wc-webhook-signature": sign(body, WOO_SECRET),
      ...headers,
    },
    payload: body,
  });
}

const channelId = async (code: string) =>
  (await t.db.selectFrom("channels").select("id").where("code", "=", code).executeTakeFirstOrThrow()).id;
const ordersOf = async (code: string) =>
  t.db
    .selectFrom("orders")
    .selectAll()
    .where("channel_id", "=", await channelId(code))
    .execute();
const inboxOf = async (code: string) =>
  t.db
    .selectFrom("channel_inbox")
    .selectAll()
    .where("channel_id", "=", await channelId(code))
    .orderBy("id")
    .execute();
const failuresOf = (code: string) =>
  t.db.selectFrom("integration_failures").selectAll().where("channel_code", "=", code).execute();

beforeAll(async () => {
  t = await testApp();
  await location(t, "main", 1, "US");
  await product(t, ["IPOD2008PINK"]);
  await product(t, ["Bar3"]);
  await stock(t, "IPOD2008PINK", "main", 1000);
  await stock(t, "Bar3", "main", 1000);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe("channel settings", () => {
  it("secrets are write-only: create, get, list and patch replies show ***", async () => {
    const code = await shopifyChannel();
    const got = await ok(t, "GET", `/v1/channels/${code}`);
    expect(got.config).toMatchObject({
      access_token: "***",
      webhook_secret: "***",
      shop_domain: "jsmith.myshopify.com",
      api_version: "2026-07",
      locations: { main: "gid://shopify/Location/24826418" },
    });
    const list = await ok(t, "GET", "/v1/channels");
    const mine = list.data.find((c: { code: string }) => c.code === code);
    expect(mine.config.access_token).toBe("***");
    expect(JSON.stringify(list)).not.toContain(SHOP_SECRET);
    const patched = await ok(t, "PATCH", `/v1/channels/${code}`, {
      name: "Renamed",
      config: { access_token: "***" },
    });
    expect(patched).toMatchObject({ name: "Renamed", config: { access_token: "***" } });
    const row = await t.db
      .selectFrom("channels")
      .select("config")
      .where("code", "=", code)
      .executeTakeFirstOrThrow();
    // a "***" in a patch keeps the secret: still the one given at create (encrypted at rest)
    expect(open((row.config as Record<string, string>).access_token as string)).toBe(
      "shpat_0123456789abcdef",
    );
    // the event the create emitted carries no secret either
    const events = await t.db
      .selectFrom("outbox_events")
      .select("payload")
      .where("type", "like", "channel.%")
      .execute();
    expect(JSON.stringify(events)).not.toContain(SHOP_SECRET);
  });

  it("refuses a bad config per kind with 422 and changes nothing", async () => {
    const code = await shopifyChannel();
    for (const config of [
      { api_version: "2025-10" },
      { shop_domain: "not a domain" },
      { locations: { main: "24826418" } },
      { webhook_secret: "short" },
      { previous_webhook_secret: "sneaky-one" },
    ]) {
      const res = await t.app.inject({
        method: "PATCH",
        url: `/v1/channels/${code}`,
        headers: t.auth,
        payload: { config },
      });
      expect(res.statusCode, JSON.stringify(config)).toBe(422);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    expect((await ok(t, "GET", `/v1/channels/${code}`)).config.api_version).toBe("2026-07");
    const woo = await t.app.inject({
      method: "POST",
      url: "/v1/channels",
      headers: t.auth,
      payload: { kind: "woocommerce", name: "Bad woo", config: { consumer_key: "nope" } },
    });
    expect(woo.statusCode).toBe(422);
    expect(
      (await t.app.inject({ method: "GET", url: "/v1/channels/nope", headers: t.auth })).statusCode,
    ).toBe(404);
  });

  it("a rotated webhook_secret keeps the previous one valid for an hour", async () => {
    const code = await shopifyChannel();
    await ok(t, "PATCH", `/v1/channels/${code}`, { config: { webhook_secret: "shopify-app-secret-2" } });
    const body = LEVEL;
    const topic = "inventory_levels/update";
    expect((await postShopify(code, { topic, body, secret: "shopify-app-secret-2" })).statusCode).toBe(200);
    expect((await postShopify(code, { topic, body, secret: SHOP_SECRET })).statusCode).toBe(200);
    // an hour and more later
    await sql`update channels set config = jsonb_set(config, '{webhook_secret_rotated_at}',
                to_jsonb((now() - interval '61 minutes')::text)) where code = ${code}`.execute(t.db);
    expect((await postShopify(code, { topic, body, secret: SHOP_SECRET })).statusCode).toBe(401);
    expect((await postShopify(code, { topic, body, secret: "shopify-app-secret-2" })).statusCode).toBe(200);
    expect(JSON.stringify(await ok(t, "GET", `/v1/channels/${code}`))).not.toContain("shopify-app-secret");
  });
});

describe("signatures", () => {
  it("bad, missing and re-serialised signatures are 401 problem+json and store nothing", async () => {
    const code = await shopifyChannel();
    const cases: ShopifyDelivery[] = [
      { topic: "orders/create", body: ORDER, signature: sign(ORDER, "wrong-secret-xx") },
      { topic: "orders/create", body: ORDER, signature: "" },
      { topic: "orders/create", body: ORDER, signature: "not base64 !!" },
      // the same JSON re-serialised (whitespace gone, ids rounded) no longer matches what Shopify signed
      {
        topic: "orders/create",
        body: JSON.stringify(JSON.parse(ORDER)),
        signature: sign(ORDER, SHOP_SECRET),
      },
      { topic: "orders/create", body: `${ORDER} `, signature: sign(ORDER, SHOP_SECRET) },
    ];
    for (const c of cases) {
      const res = await postShopify(code, c);
      expect(res.statusCode).toBe(401);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json().code).toBe("unauthorized");
    }
    const woo = await wooChannel();
    const bad = await postWoo(woo, WOO_ORDER, { "x-wc-webhook-signature": sign(WOO_ORDER, "other-secret") });
    expect(bad.statusCode).toBe(401);
    const reserialised = await postWoo(woo, JSON.stringify(JSON.parse(WOO_ORDER)), {
      "x-wc-webhook-signature": sign(WOO_ORDER, WOO_SECRET),
    });
    expect(reserialised.statusCode).toBe(401);
    expect(await inboxOf(code)).toHaveLength(0);
    expect(await inboxOf(woo)).toHaveLength(0);
  });

  it("answers WooCommerce's unsigned creation ping with exactly 200 and stores nothing", async () => {
    const woo = await wooChannel();
    const res = await t.app.inject({
      method: "POST",
      url: `/v1/channels/${woo}/webhooks`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "webhook_id=12",
    });
    expect(res.statusCode).toBe(200);
    expect(await inboxOf(woo)).toHaveLength(0);
  });

  it("the rest of the app still parses JSON bodies", async () => {
    const res = await ok(t, "GET", "/v1/channels");
    expect(Array.isArray(res.data)).toBe(true);
    await ok(t, "POST", "/v1/locations", { code: "json-still-works", name: "x", kind: "warehouse" }, 201);
  });
});

describe("Shopify orders", () => {
  it("the same webhook 3 times at once and again a minute later: one order, one refund", async () => {
    const code = await shopifyChannel();
    const created = { topic: "orders/create", body: ORDER, webhookId: "order-wh-1", eventId: "order-ev-1" };
    const first = await Promise.all([1, 2, 3].map(() => postShopify(code, created)));
    expect(first.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(first.filter((r) => r.json().duplicate)).toHaveLength(2);
    // Shopify retries a minute later with the same ids and the original trigger time
    expect((await postShopify(code, created)).json()).toEqual({ received: false, duplicate: true });
    // the same event through a second subscription: another webhook id, the same event id
    expect((await postShopify(code, { ...created, webhookId: "order-wh-2" })).json().duplicate).toBe(true);

    const refund = {
      topic: "refunds/create",
      body: REFUND,
      webhookId: "refund-wh-1",
      eventId: "refund-ev-1",
    };
    await Promise.all([1, 2, 3].map(() => postShopify(code, refund)));
    // two processors at once: each delivery applied once
    await Promise.all([processAll(), processAll()]);
    await drain();
    await postShopify(code, refund);
    await postShopify(code, { ...refund, webhookId: "refund-wh-2", eventId: "refund-ev-2" }); // the refund again, new ids
    await drain();

    const orders = await ordersOf(code);
    expect(orders).toHaveLength(1);
    const order = orders[0];
    expect(order.external_id).toBe("gid://shopify/Order/820982911946154508");
    // the fixture is a voided, cancelled order: 398.00 − 20.00 + 10.00 shipping, in cents
    expect(order).toMatchObject({
      currency: "USD",
      total: 38800,
      status: "cancelled",
      payment_status: "voided",
    });
    const refunds = await t.db
      .selectFrom("channel_refunds")
      .selectAll()
      .where("channel_id", "=", await channelId(code))
      .execute();
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      external_id: "gid://shopify/Refund/890088186047892319",
      order_id: order.id,
    });
    const view = await ok(t, "GET", `/v1/orders/${order.id}`);
    expect(view.timeline.filter((e: { action: string }) => e.action === "refund")).toHaveLength(1);
    expect(view.timeline.find((e: { action: string }) => e.action === "cancel").reason).toContain("customer");
    expect(view.lines.map((l: { sku: string; quantity: number }) => [l.sku, l.quantity])).toEqual([
      ["IPOD2008PINK", 1],
      ["IPOD2008PINK", 1],
    ]);
    const statuses = (await inboxOf(code)).map((r) => r.status);
    expect(statuses).toEqual(["done", "done", "ignored"]);
  });

  it("a paid order, paid again a minute later, then refunded with money: payments follow Shopify, never twice", async () => {
    const code = await shopifyChannel();
    const paid = variant(ORDER, { financial_status: "paid", cancelled_at: null, cancel_reason: null });
    await postShopify(code, { topic: "orders/create", body: paid, triggeredAt: "2026-12-03T10:00:00Z" });
    await postShopify(code, { topic: "orders/paid", body: paid, triggeredAt: "2026-12-03T10:00:01Z" });
    // orders/paid sent twice about a minute apart, with new ids
    await postShopify(code, { topic: "orders/paid", body: paid, triggeredAt: "2026-12-03T10:01:01Z" });
    await processAll();
    let [order] = await ordersOf(code);
    expect(order.payment_status).toBe("paid");
    const payments = await t.db
      .selectFrom("order_payments")
      .selectAll()
      .where("order_id", "=", order.id)
      .execute();
    expect(payments.map((p) => [p.kind, p.amount])).toEqual([["paid", 38800]]);

    const refund = variant(REFUND, {
      transactions: [{ id: 1, kind: "refund", status: "success", amount: "199.00", currency: "USD" }],
    });
    await postShopify(code, { topic: "refunds/create", body: refund });
    await postShopify(code, { topic: "refunds/create", body: refund }); // the same refund, new delivery ids
    await processAll();
    [order] = await ordersOf(code);
    expect(order.payment_status).toBe("partially_refunded");
    const refunded = await t.db
      .selectFrom("order_payments")
      .select("amount")
      .where("order_id", "=", order.id)
      .where("kind", "=", "refunded")
      .execute();
    expect(refunded).toEqual([{ amount: 19900 }]);
  });

  it("a stale delivery (older X-Shopify-Triggered-At than the one applied) changes nothing", async () => {
    const code = await shopifyChannel();
    const open = variant(ORDER, { financial_status: "pending", cancelled_at: null, cancel_reason: null });
    await postShopify(code, { topic: "orders/cancelled", body: ORDER, triggeredAt: "2026-12-03T10:05:00Z" });
    await processAll();
    // Shopify's retry of the older create arrives after the cancellation
    await postShopify(code, { topic: "orders/create", body: open, triggeredAt: "2026-12-03T10:00:00Z" });
    await processAll();
    const [order] = await ordersOf(code);
    expect(order.status).toBe("cancelled");
    const rows = await inboxOf(code);
    expect(rows.map((r) => r.status)).toEqual(["done", "stale"]);
  });

  it("unknown SKUs never drop an order: placed on hold with the reason, a failure recorded", async () => {
    const code = await shopifyChannel();
    const parsed = parseKeepingIds(ORDER) as { line_items: Record<string, unknown>[] };
    const body = variant(ORDER, {
      financial_status: "paid",
      cancelled_at: null,
      line_items: [parsed.line_items[0], { ...parsed.line_items[1], sku: "NOT-IN-KEEL" }],
    });
    await postShopify(code, { topic: "orders/create", body });
    await processAll();
    const [order] = await ordersOf(code);
    expect(order.status).toBe("on_hold");
    expect(order.hold_reasons[0]).toMatchObject({ code: "stock" });
    expect(order.hold_reasons[0].detail).toContain("NOT-IN-KEEL");
    const failures = await failuresOf(code);
    expect(failures.map((f) => [f.operation, f.status])).toEqual([["ingest_order", "open"]]);
    expect(failures[0].error).toContain("NOT-IN-KEEL");

    // every line unknown: no Keel order can be placed; the delivery is kept as failed, retryable
    const none = variant(ORDER, {
      admin_graphql_api_id: "gid://shopify/Order/1",
      id: 1,
      line_items: parsed.line_items.map((l) => ({ ...l, sku: "GHOST" })),
    });
    expect((await postShopify(code, { topic: "orders/create", body: none })).statusCode).toBe(200);
    await processAll();
    expect(await ordersOf(code)).toHaveLength(1);
    const failed = (await inboxOf(code)).find((r) => r.status === "failed")!;
    expect(failed.error).toContain("GHOST");
    // once the product exists, retrying the failure from the monitor places the order
    await product(t, ["GHOST"]);
    await stock(t, "GHOST", "main", 10);
    const open = (await failuresOf(code)).find((f) => f.operation === "ingest_webhook")!;
    await ok(t, "POST", `/v1/integrations/failures/${open.id}/retry`, {});
    expect(await ordersOf(code)).toHaveLength(2);
    expect((await failuresOf(code)).find((f) => f.id === open.id)!.status).toBe("resolved");
  });

  it("malformed payloads are answered 200, then marked failed with a failure; never a 5xx, nothing half-applied", async () => {
    const code = await shopifyChannel();
    const bodies = [
      "{not json",
      JSON.stringify({ hello: "world" }),
      variant(ORDER, { line_items: [] }),
      variant(ORDER, { currency: "dollars" }),
      variant(ORDER, { total_discounts_set: { shop_money: { amount: "lots" } } }),
      variant(ORDER, { email: null, contact_email: null, customer: null }),
    ];
    for (const body of bodies) {
      const res = await postShopify(code, { topic: "orders/create", body });
      expect(res.statusCode).toBe(200);
    }
    await postShopify(code, { topic: "refunds/create", body: "[]" });
    await postShopify(code, { topic: "inventory_levels/update", body: "{}" });
    await processAll();
    const rows = await inboxOf(code);
    expect(rows.map((r) => r.status)).toEqual(Array(bodies.length + 2).fill("failed"));
    expect(await ordersOf(code)).toHaveLength(0);
    const failures = await failuresOf(code);
    expect(failures).toHaveLength(bodies.length + 2);
    expect(failures.every((f) => f.status === "open" && f.source === "channel-inbox")).toBe(true);
    const health = await ok(t, "GET", `/v1/channels/${code}/health`);
    expect(health).toMatchObject({ pending: 0, failures_24h: bodies.length + 2, status: "failing" });
    const none = await t.db
      .selectFrom("channel_orders")
      .selectAll()
      .where("channel_id", "=", await channelId(code))
      .where("order_id", "is not", null)
      .execute();
    expect(none).toHaveLength(0);
  });

  it("fulfilments are recorded on the order; inventory levels kept, newest first, for the stock push", async () => {
    const code = await shopifyChannel();
    await postShopify(code, { topic: "orders/create", body: ORDER });
    await postShopify(code, { topic: "fulfillments/create", body: FULFILLMENT });
    await postShopify(code, { topic: "inventory_levels/update", body: LEVEL });
    const older = variant(LEVEL, { available: 3, updated_at: "2021-12-31T18:00:00-05:00" });
    await postShopify(code, { topic: "inventory_levels/update", body: older });
    await processAll();
    const [order] = await ordersOf(code);
    const f = await t.db
      .selectFrom("channel_fulfillments")
      .selectAll()
      .where("order_id", "=", order.id)
      .execute();
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ carrier: "UPS", tracking_number: "1z827wk74630" });
    const levels = await t.db
      .selectFrom("channel_inventory_levels")
      .selectAll()
      .where("channel_id", "=", await channelId(code))
      .execute();
    expect(levels).toHaveLength(1);
    expect(levels[0]).toMatchObject({
      // the exact id from the level's GID; the fixture's numeric field was rounded through a double
      inventory_item_id: "gid://shopify/InventoryItem/271878346596884015",
      location_id: "gid://shopify/Location/24826418",
      available: null,
      pending: false, // looked at by the stock push (Keel does not sync that item)
    });
    expect((await inboxOf(code)).map((r) => r.status)).toEqual(["done", "done", "done", "stale"]);
  });

  it("a crash between storing and applying: applied after restart, once", async () => {
    const code = await shopifyChannel();
    await postShopify(code, { topic: "orders/create", body: ORDER });
    // a processor that dies mid-apply: its connection is cut after the order was written, before commit
    let pid = 0;
    let hang: () => void = () => {};
    const dying = inboxHandlers();
    const real = dying.get("shopify:orders/create")!;
    const reachedMidway = new Promise<void>((midway) => {
      dying.set("shopify:orders/create", async (tx, channel, row) => {
        const applied = await real(tx, channel, row);
        pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0].pid;
        midway();
        await new Promise<void>((r) => {
          hang = r;
        });
        return applied;
      });
    });
    const crashed = processInbox(t.db, dying).catch((err) => err);
    await reachedMidway;
    await sql`select pg_terminate_backend(${pid})`.execute(t.db);
    hang();
    expect(await crashed).toBeInstanceOf(Error);
    expect(await ordersOf(code)).toHaveLength(0);
    expect((await inboxOf(code))[0].status).toBe("pending");
    expect(await ok(t, "GET", `/v1/channels/${code}/health`)).toMatchObject({
      pending: 1,
      last_success_at: null,
    });
    // the next process picks it up
    await processAll();
    expect(await ordersOf(code)).toHaveLength(1);
    await processAll();
    expect(await ordersOf(code)).toHaveLength(1);
    const health = await ok(t, "GET", `/v1/channels/${code}/health`);
    expect(health).toMatchObject({ pending: 0, lag_seconds: 0, failures_24h: 0, status: "ok" });
    expect(health.last_success_at).not.toBeNull();
  });
});

describe("WooCommerce orders", () => {
  it("the docs' order: the SKU-less line puts it on hold, the known line is held; duplicates dedupe on id + date_modified", async () => {
    const woo = await wooChannel();
    await Promise.all([1, 2, 3].map(() => postWoo(woo, WOO_ORDER)));
    // another resource in the same second shares the Delivery-ID but is another delivery
    const other = variant(WOO_ORDER, { id: 728, number: "728" });
    await postWoo(woo, other);
    expect(await inboxOf(woo)).toHaveLength(2);
    await processAll();
    const orders = await ordersOf(woo);
    expect(orders.map((o) => o.external_id).sort()).toEqual(["727", "728"]);
    const o = orders.find((x) => x.external_id === "727")!;
    expect(o.status).toBe("on_hold");
    expect(o.hold_reasons[0].detail).toContain("no SKU");
    // Bar3 ×1 at 12.00, shipping 10.00, tax 1.35; the SKU-less line is left out of the totals
    expect(o).toMatchObject({
      currency: "USD",
      subtotal: 1200,
      shipping_total: 1000,
      tax_total: 135,
      total: 2335,
    });
    expect(o.payment_status).toBe("paid");
    expect((await failuresOf(woo)).filter((f) => f.operation === "ingest_order")).toHaveLength(2);
  });

  it("maps statuses: cancelled cancels, refunded records each refund once, older states are stale", async () => {
    const woo = await wooChannel();
    const lines = [(parseKeepingIds(WOO_ORDER) as { line_items: unknown[] }).line_items[1]];
    const at = (s: number) => `2026-12-03T10:00:0${s}`;
    const state = (status: string, s: number, extra: Record<string, unknown> = {}) =>
      variant(WOO_ORDER, { id: 900, status, line_items: lines, date_modified_gmt: at(s), ...extra });
    await postWoo(woo, state("processing", 1));
    await postWoo(woo, state("refunded", 3, { refunds: [{ id: 5, reason: "broken", total: "-5.00" }] }));
    await postWoo(woo, state("pending", 2)); // sent late: older than what was applied
    await processAll();
    let [o] = await ordersOf(woo);
    expect(o.payment_status).toBe("partially_refunded");
    expect((await inboxOf(woo)).map((r) => r.status)).toEqual(["done", "done", "stale"]);
    await postWoo(woo, state("cancelled", 4, { refunds: [{ id: 5, reason: "broken", total: "-5.00" }] }));
    await processAll();
    [o] = await ordersOf(woo);
    expect(o.status).toBe("cancelled");
    const refunds = await t.db
      .selectFrom("channel_refunds")
      .selectAll()
      .where("order_id", "=", o.id)
      .execute();
    expect(refunds.map((r) => [r.external_id, r.amount])).toEqual([["refund:5", 500]]);

    const held = variant(WOO_ORDER, { id: 901, status: "on-hold", line_items: lines });
    const failed = variant(WOO_ORDER, { id: 902, status: "failed", line_items: lines });
    await postWoo(woo, held);
    await postWoo(woo, failed);
    await processAll();
    const byId = new Map((await ordersOf(woo)).map((x) => [x.external_id, x]));
    expect(byId.get("901")).toMatchObject({ status: "on_hold", payment_status: "pending" });
    expect(byId.get("901")!.hold_reasons.map((r) => r.code)).toContain("payment");
    expect(byId.get("902")!.payment_status).toBe("failed");

    await postWoo(woo, variant(WOO_ORDER, { id: 903, status: "pending", line_items: lines }));
    await postWoo(woo, variant(WOO_ORDER, { id: 904, status: "completed", line_items: lines }));
    await postWoo(woo, variant(WOO_ORDER, { id: 905, status: "trash", line_items: lines }));
    await postWoo(woo, JSON.stringify({ id: 906 }), { "x-wc-webhook-topic": "order.deleted" });
    await processAll();
    const after = new Map((await ordersOf(woo)).map((x) => [x.external_id, x]));
    expect(after.get("903")).toMatchObject({ payment_status: "pending" });
    expect(after.get("903")!.status).not.toBe("on_hold");
    expect(after.get("904")).toMatchObject({ payment_status: "paid" });
    const completed = await ok(t, "GET", `/v1/orders/${after.get("904")!.id}`);
    expect(completed.timeline.map((e: { reason: string | null }) => e.reason)).toContain(
      "completed on WooCommerce",
    );
    expect(after.has("905")).toBe(false);
    expect(after.has("906")).toBe(false);
    const tail = (await inboxOf(woo)).slice(-2).map((r) => r.status);
    expect(tail).toEqual(["ignored", "ignored"]);
  });
});

describe("out of order", () => {
  it("a refund before its order waits, and is applied once the order is in", async () => {
    const code = await shopifyChannel();
    await postShopify(code, { topic: "refunds/create", body: REFUND });
    await processAll();
    const [waiting] = await inboxOf(code);
    expect(waiting).toMatchObject({ status: "pending", attempts: 1 });
    expect(waiting.error).toContain("not received yet");
    expect(await failuresOf(code)).toHaveLength(0);
    await postShopify(code, { topic: "orders/create", body: ORDER });
    await drain();
    expect((await inboxOf(code)).map((r) => r.status)).toEqual(["done", "done"]);
    expect(await ordersOf(code)).toHaveLength(1);
  });
});

describe("a delivery that keeps deadlocking", () => {
  it("waits its backoff and never blocks the deliveries behind it", async () => {
    const code = await shopifyChannel();
    await postShopify(code, { topic: "fulfillments/create", body: FULFILLMENT });
    await postShopify(code, { topic: "inventory_levels/update", body: LEVEL });
    const deadlocking = inboxHandlers();
    deadlocking.set("shopify:fulfillments/create", async () => {
      throw Object.assign(new Error("deadlock detected"), { code: "40P01" });
    });
    await processInbox(t.db, deadlocking);
    const [stuck, level] = await inboxOf(code);
    expect(stuck).toMatchObject({ status: "pending", attempts: 1 });
    expect(stuck.leased_until).not.toBeNull();
    expect(level.status).toBe("done");
  });
});

describe("an order Keel cannot hold stock for", () => {
  it("is kept as a failed delivery with a failure, and placed by a retry once stock is in", async () => {
    const code = await shopifyChannel();
    await product(t, ["SCARCE"]);
    const parsed = parseKeepingIds(ORDER) as { line_items: Record<string, unknown>[] };
    const body = variant(ORDER, {
      financial_status: "paid",
      cancelled_at: null,
      line_items: [{ ...parsed.line_items[0], sku: "SCARCE" }],
    });
    await postShopify(code, { topic: "orders/create", body });
    await processAll();
    expect(await ordersOf(code)).toHaveLength(0);
    const [row] = await inboxOf(code);
    expect(row.status).toBe("failed");
    expect(row.error).toContain("cannot hold its stock");
    const failure = (await failuresOf(code))[0];
    const early = await ok(t, "POST", `/v1/integrations/failures/${failure.id}/retry`, {});
    expect(early.outcome).toBe("failed");
    await stock(t, "SCARCE", "main", 5);
    const retried = await ok(t, "POST", `/v1/integrations/failures/${failure.id}/retry`, {});
    expect(retried.outcome).toBe("resolved");
    const [order] = await ordersOf(code);
    expect(order.payment_status).toBe("paid");
    expect((await inboxOf(code))[0].status).toBe("done");
  });
});
