import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeWooCommerce } from "../../../../test/fakes/woocommerce.js";
import { type TestContext, testApp } from "../../../../test/helpers.js";
import { location, ok, product } from "../../../../test/shop.js";
import { WooClient } from "./client.js";
import { pushDirtyWooStock, pushWooStock } from "./stock.js";

/** WooCommerce stock out against a local server that speaks its REST v3 API (test/fakes/woocommerce.ts). */

let t: TestContext;
let woo: FakeWooCommerce;
const SIMPLE = Array.from({ length: 240 }, (_, i) => `W-${String(i).padStart(3, "0")}`);
const VARIATIONS = ["TEE-S", "TEE-M", "TEE-L"];
const client = (o: Partial<ConstructorParameters<typeof WooClient>[0]> = {}) =>
  new WooClient({
    baseUrl: woo.baseUrl,
    consumerKey: woo.consumerKey,
    consumerSecret: woo.consumerSecret,
    timeoutMs: 300,
    attempts: 3,
    backoffMs: 10,
    ...o,
  });
const batches = () => woo.log.filter((l) => l.path.endsWith("/batch"));
const quantityOf = (sku: string) => woo.bySku(sku)?.stock_quantity;
const failures = () =>
  t.db
    .selectFrom("integration_failures")
    .selectAll()
    .where("channel_code", "=", "woo")
    .orderBy("id")
    .execute();

async function setStock(levels: { sku: string; on_hand: number }[]) {
  await ok(t, "POST", "/v1/integrations/stock", {
    source: "test",
    as_of: new Date().toISOString(),
    levels: levels.map((l) => ({ ...l, location: "main" })),
  });
}

beforeAll(async () => {
  woo = new FakeWooCommerce();
  await woo.start();
  t = await testApp();
  await location(t, "main", 1, "DE");
  for (let i = 0; i < SIMPLE.length; i += 80) await product(t, SIMPLE.slice(i, i + 80));
  await product(t, VARIATIONS);
  await product(t, ["ONLY-IN-KEEL"]);
  await setStock(
    [...SIMPLE, ...VARIATIONS, "ONLY-IN-KEEL"].map((sku, i) => ({ sku, on_hand: 10 + (i % 7) })),
  );
  for (const sku of SIMPLE) woo.addSimple(sku, 0);
  woo.addVariable(VARIATIONS);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "woocommerce",
      name: "Woo",
      code: "woo",
      config: {
        base_url: woo.baseUrl,
        consumer_key: woo.consumerKey,
        consumer_secret: woo.consumerSecret,
        webhook_secret: "woo-webhook-secret",
      },
    },
    201,
  );
  const policy = await t.app.inject({
    method: "PUT",
    url: "/v1/channels/woo/stock-policy",
    headers: t.auth,
    payload: { buffer: 2 },
  });
  expect(policy.statusCode).toBe(200);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await woo?.stop();
});

describe("WooCommerce stock push", () => {
  it("sends what the policy offers, absolute, in batches of at most 100, variations through their parent", async () => {
    const res = await pushWooStock(t.db, "woo", { client: client() });
    expect(res).toMatchObject({
      pushed: SIMPLE.length + VARIATIONS.length,
      failed: 0,
      unknown: ["ONLY-IN-KEEL"],
    });
    const sent = batches();
    expect(sent.every((b) => b.items <= 100 && b.status === 200)).toBe(true);
    expect(sent.filter((b) => b.path.endsWith("/products/batch")).map((b) => b.items)).toEqual([
      100, 100, 40,
    ]);
    expect(sent.filter((b) => b.path.includes("/variations/"))).toHaveLength(1);
    const avail = await ok(t, "GET", "/v1/inventory/availability?sku=W-003&channel=woo");
    expect(quantityOf("W-003")).toBe(avail.channel.offered);
    expect(quantityOf("W-003")).toBe(10 + 3 - 2);
    expect(woo.bySku("TEE-M")).toMatchObject({
      stock_quantity: 10 + ((SIMPLE.length + 1) % 7) - 2,
      stock_status: "instock",
    });
    // the unknown SKU is a failure to look at, not a stop
    expect((await failures()).map((f) => [f.operation, f.status])).toEqual([["map_sku", "open"]]);

    // nothing changed: nothing sent
    woo.log.length = 0;
    const again = await pushWooStock(t.db, "woo", { client: client() });
    expect(again.pushed).toBe(0);
    expect(batches()).toHaveLength(0);
  });

  it("only changed SKUs go out, with the value at send time; out of stock by the variant's policy", async () => {
    woo.log.length = 0;
    await setStock([
      { sku: "W-010", on_hand: 40 },
      { sku: "W-011", on_hand: 1 },
    ]);
    const res = await pushWooStock(t.db, "woo", { client: client() });
    expect(res.pushed).toBe(2);
    expect(batches().map((b) => b.items)).toEqual([2]);
    expect(woo.bySku("W-010")).toMatchObject({ stock_quantity: 38, stock_status: "instock" });
    // 1 on hand, buffer 2: nothing offered, and the variant denies backorders
    expect(woo.bySku("W-011")).toMatchObject({ stock_quantity: 0, stock_status: "outofstock" });
  });

  it("a sale on the shop itself is corrected by a full push (no compare-and-set: Keel's absolute value wins)", async () => {
    woo.sell("W-020", 3);
    await pushWooStock(t.db, "woo", { client: client(), full: true });
    expect(quantityOf("W-020")).toBe(10 + (20 % 7) - 2);
  });

  it("429 with Retry-After, 5xx, a slow answer past the timeout and a dropped reply are retried", async () => {
    await setStock([{ sku: "W-030", on_hand: 50 }]);
    woo.inject({ kind: "status", status: 429, retryAfter: "1" });
    let res = await pushWooStock(t.db, "woo", { client: client(), skus: ["W-030"] });
    expect(res).toMatchObject({ pushed: 1, failed: 0 });
    expect(quantityOf("W-030")).toBe(48);

    await setStock([{ sku: "W-030", on_hand: 60 }]);
    woo.inject({ kind: "status", status: 502 }, { kind: "slow", ms: 1000 });
    res = await pushWooStock(t.db, "woo", { client: client(), skus: ["W-030"] });
    expect(res).toMatchObject({ pushed: 1, failed: 0 });
    expect(quantityOf("W-030")).toBe(58);

    await setStock([{ sku: "W-030", on_hand: 70 }]);
    woo.inject({ kind: "drop-reply" });
    res = await pushWooStock(t.db, "woo", { client: client(), skus: ["W-030"] });
    expect(res).toMatchObject({ pushed: 1, failed: 0 });
    expect(quantityOf("W-030")).toBe(68);
  });

  it("a shop down past the retries: a failure recorded, the value sent on the next round, the failure resolved", async () => {
    await setStock([{ sku: "W-040", on_hand: 30 }]);
    woo.inject(...Array(3).fill({ kind: "status", status: 503 }));
    const down = await pushWooStock(t.db, "woo", { client: client(), skus: ["W-040"] });
    expect(down).toMatchObject({ pushed: 0, failed: 1 });
    const open = (await failures()).find((f) => f.operation === "push_inventory")!;
    expect(open).toMatchObject({ status: "open", subject: "products/batch" });
    expect(open.error).toContain("503");
    const back = await pushWooStock(t.db, "woo", { client: client(), skus: ["W-040"] });
    expect(back.pushed).toBe(1);
    expect(quantityOf("W-040")).toBe(28);
    expect((await failures()).find((f) => f.id === open.id)!.status).toBe("resolved");
  });

  it("a committed stock change marks its SKU dirty (outbox consumer); the background round pushes only it", async () => {
    const dirty = () =>
      t.db.selectFrom("channel_woo_items").select("sku").where("dirty_at", "is not", null).execute();
    const until = Date.now() + 15_000;
    /** Every change committed so far handled by the consumer. */
    const caughtUp = async () => {
      const last = await t.db
        .selectFrom("outbox_events")
        .select((eb) => eb.fn.max("id").as("id"))
        .executeTakeFirstOrThrow();
      for (;;) {
        const cursor = await t.db
          .selectFrom("outbox_cursors")
          .select("last_event_id")
          .where("consumer", "=", "woocommerce-stock")
          .executeTakeFirst();
        if (Number(cursor?.last_event_id ?? 0) >= Number(last.id)) return;
        if (Date.now() > until) throw new Error("the consumer did not catch up");
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // a consumer starts at the present on its first tick: write until one change is seen
    for (let n = 0; (await dirty()).length === 0; n++) {
      if (Date.now() > until) throw new Error("the stock change was never marked");
      await setStock([{ sku: "W-070", on_hand: 90 + n }]);
      await new Promise((r) => setTimeout(r, 200));
    }
    await caughtUp();
    // the round clears what earlier changes marked
    await pushDirtyWooStock(t.db);
    expect(await dirty()).toEqual([]);
    woo.log.length = 0;
    await setStock([{ sku: "W-060", on_hand: 90 }]);
    while ((await dirty()).length === 0) {
      if (Date.now() > until) throw new Error("the stock change was never marked");
      await new Promise((r) => setTimeout(r, 50));
    }
    await caughtUp();
    expect((await dirty()).map((d) => d.sku)).toEqual(["W-060"]);
    const pushed = await pushDirtyWooStock(t.db);
    expect(pushed).toBe(1);
    expect(batches().map((b) => b.items)).toEqual([1]);
    const onHand = (await ok(t, "GET", "/v1/inventory/levels?sku=W-060&location=main")).data[0].on_hand;
    expect(quantityOf("W-060")).toBe(onHand - 2);
    expect(await dirty()).toEqual([]);
  });

  it("wrong credentials are not retried", async () => {
    woo.log.length = 0;
    await setStock([{ sku: "W-050", on_hand: 5 }]);
    const res = await pushWooStock(t.db, "woo", {
      client: client({ consumerSecret: "cs_wrong0123456789" }),
      skus: ["W-050"],
    });
    expect(res.failed).toBe(1);
    expect(woo.log.map((l) => l.status)).toEqual([401]);
  });

  it("the fake refuses batches over 100 as WooCommerce does", async () => {
    const c = client();
    await expect(c.batchUpdate(null, Array(101).fill({ id: 1 }))).rejects.toThrow(/at most 100/);
    const res = await fetch(`${woo.baseUrl}/wp-json/wc/v3/products/batch`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${woo.consumerKey}:${woo.consumerSecret}`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ update: Array(101).fill({ id: 1 }) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe("woocommerce_rest_request_entity_too_large");
  });
});
