import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { readConfig } from "../config.js";
import { originAllowed } from "../http/hardening.js";

let t: TestContext;
const saved = process.env.KEEL_STOREFRONT_ORIGINS;
beforeAll(async () => {
  process.env.KEEL_STOREFRONT_ORIGINS = "https://shop.example, https://www.shop.example/";
  t = await testApp();
});
afterAll(async () => {
  if (saved === undefined) delete process.env.KEEL_STOREFRONT_ORIGINS;
  else process.env.KEEL_STOREFRONT_ORIGINS = saved;
  await t?.close();
});

describe("storefront widget and CORS", () => {
  it("serves the widget under 2 kB gzip, loadable from another origin", async () => {
    const res = await t.app.inject({ method: "GET", url: "/storefront/widget.js" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/javascript");
    expect(res.headers["cross-origin-resource-policy"]).toBe("cross-origin");
    expect(gzipSync(res.body, { level: 9 }).length).toBeLessThan(2048);
  });

  it("answers CORS for the configured origins only", async () => {
    const ask = (origin: string) =>
      t.app.inject({ method: "GET", url: "/v1/storefront/availability?skus=NOPE", headers: { origin } });
    const yes = await ask("https://www.shop.example");
    expect(yes.statusCode).toBe(200);
    expect(yes.headers["access-control-allow-origin"]).toBe("https://www.shop.example");
    expect(String(yes.headers.vary).toLowerCase()).toContain("origin");
    const no = await ask("https://evil.example");
    expect(no.statusCode).toBe(200);
    expect(no.headers["access-control-allow-origin"]).toBeUndefined();
    // the admin API never answers CORS
    const admin = await t.app.inject({
      method: "GET",
      url: "/v1/orders",
      headers: { ...t.auth, origin: "https://shop.example" },
    });
    expect(admin.headers["access-control-allow-origin"]).toBeUndefined();
    const pre = await t.app.inject({
      method: "OPTIONS",
      url: "/v1/storefront/availability/stream?skus=A",
      headers: { origin: "https://shop.example", "access-control-request-method": "GET" },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("https://shop.example");
    expect(pre.headers["access-control-allow-methods"]).toContain("GET");
  });

  it("shows the widget on a sample product page", async () => {
    const res = await t.app.inject({ method: "GET", url: "/storefront-demo?skus=A,B%22%3E" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
    expect(res.body).toContain('<script src="/storefront/widget.js" data-skus="A,B&quot;&gt;"');
    expect(res.body).not.toContain('B">');
  });

  it("parses the origin list: none by default, * for any", () => {
    const allowed = (env: NodeJS.ProcessEnv) => originAllowed(readConfig(env).http.storefrontOrigins);
    expect(allowed({})("https://a.example")).toBe(false);
    expect(allowed({ KEEL_STOREFRONT_ORIGINS: "*" })("https://a.example")).toBe(true);
    expect(allowed({ KEEL_STOREFRONT_ORIGINS: "https://A.example" })("https://a.example")).toBe(true);
  });
});
