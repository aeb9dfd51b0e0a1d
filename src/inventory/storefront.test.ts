import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listen, type TestContext, testApp } from "../../test/helpers.js";
import { expectLedgerConsistent, location, product, stock } from "../../test/shop.js";
import { EventFeed } from "../events/feed.js";

/** What shoppers and integrations read: storefront statuses (cached, streamed) and the event feed. */
let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1);
  await location(t, "WEST", 2);
  await product(t, ["CAP"], { policy: "backorder" });
  await product(t, ["BOOK"], { policy: "preorder" });
  await product(t, ["EBOOK"], { kind: "digital" });
  await product(t, ["HAT"]);
  await stock(t, "HAT", "EAST", 3);
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

describe("storefront", () => {
  it("tells shoppers in stock, low stock with quantity, or what the policy allows at zero — without a key", async () => {
    await product(t, ["LAMP"], { threshold: 3 });
    await stock(t, "LAMP", "EAST", 2);
    const res = await t.app.inject({
      method: "GET",
      url: "/v1/storefront/availability?skus=LAMP,CAP,BOOK,EBOOK,NOPE,HAT",
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.body).toBe(JSON.stringify(res.json())); // the cached JSON text is what JSON.stringify writes
    const bySku = Object.fromEntries(res.json().data.map((d: { sku: string }) => [d.sku, d]));
    expect(bySku.LAMP).toEqual({ sku: "LAMP", status: "low_stock", quantity: 2 });
    expect(bySku.BOOK).toEqual({ sku: "BOOK", status: "preorder" });
    expect(bySku.EBOOK).toEqual({ sku: "EBOOK", status: "in_stock" });
    expect(bySku.NOPE).toEqual({ sku: "NOPE", status: "out_of_stock" });
    expect(bySku.HAT).toEqual({ sku: "HAT", status: "in_stock" });
    await stock(t, "CAP", "EAST", 0);
    await stock(t, "CAP", "EAST", 0, "quarantine");
    const capNow = async () =>
      (await t.app.inject({ method: "GET", url: "/v1/storefront/availability?skus=CAP" })).json().data;
    const until = Date.now() + 20_000;
    while ((await capNow())[0].status !== "backorder" && Date.now() < until) {
      await t.app.feed.poll();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await capNow()).toEqual([{ sku: "CAP", status: "backorder" }]);
    expect((await t.app.inject({ method: "GET", url: "/v1/storefront/availability?skus=" })).statusCode).toBe(
      400,
    );
  });
});

describe("storefront cache and stream", () => {
  it("serves from memory and is invalidated by the outbox feed, bundles included", async () => {
    await product(t, ["VASE"]);
    await product(t, ["VASE-SET"], { kind: "bundle", components: [{ sku: "VASE", quantity: 2 }] });
    await stock(t, "VASE", "EAST", 4);
    await t.app.feed.poll();
    const get = async () =>
      (await t.app.inject({ method: "GET", url: "/v1/storefront/availability?skus=VASE,VASE-SET" })).json()
        .data;
    expect(await get()).toEqual([
      { sku: "VASE", status: "in_stock" },
      { sku: "VASE-SET", status: "in_stock" },
    ]);
    await stock(t, "VASE", "EAST", 1);
    // the change is committed; once this process has read it from the outbox, the cache answers with it
    const until = Date.now() + 20_000;
    let now = await get();
    while (now[1].status !== "out_of_stock" && Date.now() < until) {
      await t.app.feed.poll();
      await new Promise((r) => setTimeout(r, 50));
      now = await get();
    }
    expect(now).toEqual([
      { sku: "VASE", status: "in_stock" },
      { sku: "VASE-SET", status: "out_of_stock" },
    ]);
  });

  it("streams the current status, then every change, as Server-Sent Events", async () => {
    await product(t, ["CANDLE"]);
    await stock(t, "CANDLE", "EAST", 2);
    const base = await listen(t);
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/storefront/availability/stream?skus=CANDLE`, {
      signal: controller.signal,
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) text += decoder.decode((await reader.read()).value);
    };
    await until(/"status":"in_stock"/);
    await stock(t, "CANDLE", "EAST", 0);
    await t.app.feed.poll();
    await until(/"status":"out_of_stock"/);
    controller.abort();
  });
});

describe("event feed", () => {
  it("reads only the payloads its listeners ask for, and every payload once one asks for all", async () => {
    const feed = new EventFeed(t.db, 0);
    await feed.start();
    const seen: { type: string; payload: unknown }[] = [];
    const stop = feed.subscribe((events) => seen.push(...events), ["inventory.level_changed"]);
    await product(t, ["KETTLE"]); // product.created, whose payload nobody asked for
    await stock(t, "KETTLE", "EAST", 5);
    const drain = async (until: () => boolean) => {
      for (let i = 0; i < 200 && !until(); i++) {
        await feed.poll();
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const kettle = (e: { payload: unknown }) => (e.payload as { sku?: string } | null)?.sku === "KETTLE";
    await drain(() => seen.some(kettle));
    const level = seen.find(kettle);
    expect(level?.type).toBe("inventory.level_changed");
    expect(level?.payload).toMatchObject({ sku: "KETTLE", location: "EAST", on_hand: 5 });
    const others = seen.filter((e) => e.type !== "inventory.level_changed");
    expect(others.length).toBeGreaterThan(0); // still delivered, so listeners see every change happen
    expect(others.every((e) => e.payload === null)).toBe(true);

    const all: { type: string; payload: unknown }[] = [];
    feed.subscribe((events) => all.push(...events));
    await product(t, ["TEAPOT"]);
    await drain(() => all.some((e) => e.type !== "inventory.level_changed"));
    expect(all.filter((e) => e.type !== "inventory.level_changed").every((e) => e.payload !== null)).toBe(
      true,
    );
    stop();
    await feed.stop();
  });
});
