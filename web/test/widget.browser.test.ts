import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok } from "../../test/shop.js";
import { type BrowserRig, openPage, screenshot, startRig } from "./browser.js";
import { seedShop } from "./seed.js";

let rig: BrowserRig;
// the shop's own web server, another origin on this machine (Chromium refuses a public page calling localhost)
let shop: Server;
let SHOP: string;
const saved = process.env.KEEL_STOREFRONT_ORIGINS;

beforeAll(async () => {
  // the shop's server first: Keel reads KEEL_STOREFRONT_ORIGINS when its app is built, and the
  // shop's origin (its port) is known only once it listens; its page names Keel's address when served
  shop = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="tr"><head><link rel="icon" href="data:,"></head><body><h1>Tişört</h1>
      <p>Beden S: <span data-keel-sku="TEE-S"></span></p>
      <script src="${rig.base}/storefront/widget.js" data-skus="TEE-S" async></script></body></html>`);
  });
  await new Promise<void>((ok) => shop.listen(0, "127.0.0.1", ok));
  SHOP = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  // the shop's own domain may call the storefront API
  process.env.KEEL_STOREFRONT_ORIGINS = SHOP;
  rig = await startRig();
  await seedShop(rig);
  await ok(
    rig.t,
    "POST",
    "/v1/products",
    {
      title: "Last one",
      kind: "physical",
      status: "active",
      variants: [{ sku: "LAST", price: 4900, currency: "EUR", low_stock_threshold: 3 }],
    },
    201,
  );
  await ok(
    rig.t,
    "POST",
    "/v1/inventory/adjustments",
    { sku: "LAST", location: "WH1", delta: 1, reason: "initial" },
    201,
  );
});
afterAll(async () => {
  if (saved === undefined) delete process.env.KEEL_STOREFRONT_ORIGINS;
  else process.env.KEEL_STOREFRONT_ORIGINS = saved;
  shop?.close();
  await rig?.close();
});

const stock = (page: import("playwright-core").Page, sku: string) => page.locator(`[data-keel-sku="${sku}"]`);

describe("the storefront widget in Chromium", () => {
  it("on the demo page flips to out of stock when the last unit is reserved through the API", async () => {
    const res = await fetch(`${rig.base}/storefront/widget.js`);
    expect(res.headers.get("content-type")).toContain("javascript");
    const { gzipSync } = await import("node:zlib");
    expect(gzipSync(Buffer.from(await res.text()), { level: 9 }).length).toBeLessThan(2048);

    const { page, errors, context } = await openPage(rig);
    await page.goto("/storefront-demo?skus=LAST,TEE-S");
    await expect.poll(() => stock(page, "LAST").textContent()).toBe("Only 1 left");
    await expect.poll(() => stock(page, "TEE-S").textContent()).toBe("In stock");
    expect(await stock(page, "LAST").getAttribute("role")).toBe("status");
    await screenshot(page, "storefront-demo");
    const r = await ok(
      rig.t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "LAST", quantity: 1 }], reference: "cart-1" },
      201,
    );
    // over the stream, without reload
    await expect.poll(() => stock(page, "LAST").textContent(), { timeout: 15_000 }).toBe("Out of stock");
    expect(await stock(page, "LAST").getAttribute("data-status")).toBe("out_of_stock");
    await ok(rig.t, "DELETE", `/v1/reservations/${r.id}`);
    await expect.poll(() => stock(page, "LAST").textContent(), { timeout: 15_000 }).toBe("Only 1 left");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("works from the shop's own domain (CORS) and holds no stream while the tab is hidden", async () => {
    const { page, errors, context } = await openPage(rig);
    await page.addInitScript(() => {
      const streams: EventSource[] = [];
      (window as unknown as { __streams: EventSource[] }).__streams = streams;
      const Native = window.EventSource;
      window.EventSource = class extends Native {
        constructor(url: string | URL, init?: EventSourceInit) {
          super(url, init);
          streams.push(this);
        }
      };
    });
    await page.goto(`${SHOP}/urun/tisort`);
    await expect.poll(() => stock(page, "TEE-S").textContent(), { timeout: 10_000 }).toBe("Stokta");
    const open = () =>
      page.evaluate(
        () =>
          (window as unknown as { __streams: EventSource[] }).__streams.filter((s) => s.readyState !== 2)
            .length,
      );
    await expect.poll(open).toBe(1);
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    expect(await open()).toBe(0);
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expect.poll(open).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});
