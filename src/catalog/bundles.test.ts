import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { call, counts, createProduct, physical, problem } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

let before: Record<string, number>;
beforeEach(async () => {
  before = await counts(t);
});

/** POSTs a product, expects a refusal with this status naming these paths, and that nothing changed. */
async function refused(body: unknown, status: number, paths: string[], code = "validation_failed") {
  const res = problem(await call(t, "POST", "/v1/products", body));
  expect(res, JSON.stringify(res.body)).toMatchObject({ status, code, problemJson: true });
  for (const path of paths) expect(res.paths, JSON.stringify(res.body)).toContain(path);
  expect(await counts(t)).toEqual(before);
  return res;
}

const variant = (sku: string, extra: Record<string, unknown> = {}) => ({
  sku,
  price: 500,
  currency: "EUR",
  ...extra,
});

describe("bundles", () => {
  it("creates a bundle of physical variants and shows its components", async () => {
    await createProduct(t, physical("Cup", ["CUP-1"]));
    await createProduct(t, physical("Saucer", ["SAUCER-1"]));
    const res = await call(t, "POST", "/v1/products", {
      title: "Cup and saucer",
      kind: "bundle",
      status: "active",
      variants: [variant("SET-1")],
      components: [
        { sku: "CUP-1", quantity: 2 },
        { sku: "SAUCER-1", quantity: 2 },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    const bundle = res.json();
    expect(bundle.components.map((c: { sku: string; quantity: number }) => [c.sku, c.quantity])).toEqual([
      ["CUP-1", 2],
      ["SAUCER-1", 2],
    ]);
    const v = (await call(t, "GET", "/v1/variants/SET-1")).json();
    expect(v.kind).toBe("bundle");
    expect(v.components).toEqual(bundle.components);
    expect((await call(t, "GET", `/v1/products/${bundle.id}`)).json()).toEqual(bundle);
  });

  it("refuses bundles without components and components on other kinds (400)", async () => {
    const bundle = { title: "B", kind: "bundle", status: "active", variants: [variant("B-1")] };
    await refused(bundle, 400, ["body.components"]);
    await refused({ ...bundle, components: [] }, 400, ["body.components"]);
    await refused({ ...physical("P"), components: [{ sku: "CUP-1", quantity: 1 }] }, 400, [
      "body.components",
    ]);
    await refused({ ...bundle, components: [{ sku: "CUP-1", quantity: 0 }] }, 400, [
      "body.components.0.quantity",
    ]);
    await refused(
      {
        ...bundle,
        components: [
          { sku: "CUP-1", quantity: 1 },
          { sku: "CUP-1", quantity: 2 },
        ],
      },
      400,
      ["body.components.1.sku"],
    );
    await refused({ ...bundle, components: [{ sku: "B-1", quantity: 1 }] }, 400, ["body.components.0.sku"]);
    await refused(
      { ...bundle, components: Array.from({ length: 51 }, (_, i) => ({ sku: `C-${i}`, quantity: 1 })) },
      400,
      ["body.components"],
    );
  });

  it("refuses unknown, digital and bundle components (422)", async () => {
    await createProduct(t, { ...physical("E-book", ["EBOOK-1"]), kind: "digital" });
    before = await counts(t);
    const bundle = { title: "B", kind: "bundle", status: "active", variants: [variant("B-2")] };
    await refused(
      {
        ...bundle,
        components: [
          { sku: "CUP-1", quantity: 1 },
          { sku: "NO-SUCH", quantity: 1 },
          { sku: "EBOOK-1", quantity: 1 },
          { sku: "SET-1", quantity: 1 },
        ],
      },
      422,
      ["body.components.1.sku", "body.components.2.sku", "body.components.3.sku"],
    );
  });

  it("replaces a bundle's components by PATCH; other kinds refuse components (422)", async () => {
    const set = (await call(t, "GET", "/v1/variants/SET-1")).json();
    const res = await call(t, "PATCH", `/v1/products/${set.product_id}`, {
      components: [{ sku: "CUP-1", quantity: 1 }],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().components.map((c: { sku: string }) => c.sku)).toEqual(["CUP-1"]);
    before = await counts(t);
    const wrong = problem(
      await call(t, "PATCH", `/v1/products/${set.product_id}`, {
        components: [{ sku: "EBOOK-1", quantity: 1 }],
      }),
    );
    expect(wrong).toMatchObject({ status: 422, paths: ["body.components.0.sku"] });
    const cup = (await call(t, "GET", "/v1/variants/CUP-1")).json();
    const notBundle = problem(
      await call(t, "PATCH", `/v1/products/${cup.product_id}`, {
        components: [{ sku: "SAUCER-1", quantity: 1 }],
      }),
    );
    expect(notBundle).toMatchObject({ status: 422, paths: ["body.components"] });
    expect(await counts(t)).toEqual(before);
  });
});

describe("digital products", () => {
  it("are not stock-tracked: no low-stock threshold, no backorder or preorder", async () => {
    const digital = { title: "Song", kind: "digital", status: "active" };
    await refused({ ...digital, variants: [variant("SONG-1", { low_stock_threshold: 3 })] }, 400, [
      "body.variants.0.low_stock_threshold",
    ]);
    await refused({ ...digital, variants: [variant("SONG-1", { inventory_policy: "backorder" })] }, 400, [
      "body.variants.0.inventory_policy",
    ]);
    const p = await createProduct(t, { ...digital, variants: [variant("SONG-1")] });
    expect(p.variants[0].kind).toBe("digital");
    before = await counts(t);
    const res = problem(
      await call(t, "PATCH", `/v1/products/${p.id}`, {
        variants: [{ sku: "SONG-1", low_stock_threshold: 1 }],
      }),
    );
    expect(res).toMatchObject({ status: 422, paths: ["body.variants.0.low_stock_threshold"] });
    expect(await counts(t)).toEqual(before);
  });
});

describe("idempotency", () => {
  it("replays the same request with the same key; refuses another body with 422", async () => {
    const body = physical("Idempotent", ["IDEM-1"]);
    const headers = { "idempotency-key": "create-idem-1" };
    const first = await call(t, "POST", "/v1/products", body, headers);
    expect(first.statusCode).toBe(201);
    const afterFirst = await counts(t);
    const again = await call(t, "POST", "/v1/products", body, headers);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers["idempotent-replayed"]).toBe("true");
    const other = problem(await call(t, "POST", "/v1/products", physical("Other", ["IDEM-2"]), headers));
    expect(other.status).toBe(422);
    expect(other.code).toBe("idempotency_key_reused");
    expect(await counts(t)).toEqual(afterFirst);
  });

  it("a refused request stores nothing, so the key can be used again", async () => {
    const headers = { "idempotency-key": "create-idem-2" };
    const bad = await call(t, "POST", "/v1/products", physical("Bad", ["IDEM-1"]), headers);
    expect(bad.statusCode).toBe(409);
    const good = await call(t, "POST", "/v1/products", physical("Good", ["IDEM-3"]), headers);
    expect(good.statusCode).toBe(201);
  });
});

describe("OpenAPI", () => {
  it("documents the catalog routes with their tag and response schemas", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    for (const [path, method] of [
      ["/v1/locations", "post"],
      ["/v1/locations", "get"],
      ["/v1/locations/{code}", "patch"],
      ["/v1/products", "post"],
      ["/v1/products", "get"],
      ["/v1/products/{id}", "get"],
      ["/v1/products/{id}", "patch"],
      ["/v1/variants/{sku}", "get"],
    ]) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags).toEqual(["catalog"]);
      expect(op.summary).toBeTruthy();
    }
    const created = doc.paths["/v1/products"].post.responses["201"];
    expect(JSON.stringify(created)).toContain("low_stock_threshold");
  });
});
