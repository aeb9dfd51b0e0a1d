import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import type { Product } from "./responses.js";
import { call, counts, createProduct, eventsOfType, physical, problem } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const shirt = {
  title: "Blue T-Shirt (Größe)",
  kind: "physical",
  status: "active",
  description: "Soft cotton",
  options: ["Size", "Color"],
  variants: [
    {
      sku: "  TS-BLU-S ",
      title: "S / Blue",
      options: { Size: "S", Color: "Blue" },
      price: 1999,
      currency: "EUR",
      barcode: "4006381333931",
      cost: 700,
      weight_grams: 180,
      unit_of_measure: "each",
      inventory_policy: "backorder",
      low_stock_threshold: 5,
    },
    { sku: "TS-BLU-M", options: { Size: "M", Color: "Blue" }, price: 1999, currency: "EUR" },
  ],
};

describe("products", () => {
  let created: Product;

  it("creates a product with variants, generates its handle and announces it", async () => {
    const res = await call(t, "POST", "/v1/products", shirt);
    expect(res.statusCode).toBe(201);
    created = res.json();
    expect(created).toMatchObject({
      title: "Blue T-Shirt (Größe)",
      handle: "blue-t-shirt-grosse",
      kind: "physical",
      status: "active",
      description: "Soft cotton",
      options: ["Size", "Color"],
      components: [],
    });
    expect(created.variants).toHaveLength(2);
    expect(created.variants[0]).toMatchObject({
      sku: "TS-BLU-S",
      product_id: created.id,
      kind: "physical",
      title: "S / Blue",
      options: { Size: "S", Color: "Blue" },
      position: 0,
      price: 1999,
      currency: "EUR",
      cost: 700,
      barcode: "4006381333931",
      weight_grams: 180,
      unit_of_measure: "each",
      inventory_policy: "backorder",
      low_stock_threshold: 5,
    });
    expect(created.variants[1]).toMatchObject({
      sku: "TS-BLU-M",
      position: 1,
      cost: null,
      barcode: null,
      inventory_policy: "deny",
      unit_of_measure: "each",
      low_stock_threshold: null,
    });
    expect(await eventsOfType(t, "product.created")).toEqual([created]);
  });

  it("gets the same product by id, and 404s an unknown id", async () => {
    const res = await call(t, "GET", `/v1/products/${created.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    expect(problem(await call(t, "GET", "/v1/products/999999"))).toMatchObject({
      status: 404,
      code: "not_found",
    });
    expect(problem(await call(t, "GET", "/v1/products/abc")).status).toBe(400);
  });

  it("makes generated handles unique with -2, -3", async () => {
    const a = await createProduct(t, physical("Blue T-Shirt (Größe)", ["H-2"]));
    const b = await createProduct(t, physical("blue t-shirt grosse!", ["H-3"]));
    expect(a.handle).toBe("blue-t-shirt-grosse-2");
    expect(b.handle).toBe("blue-t-shirt-grosse-3");
    const odd = await createProduct(t, physical("???", ["H-4"]));
    expect(odd.handle).toBe("product");
    const chosen = await createProduct(t, physical("Anything", ["H-5"], { handle: "my-own-handle" }));
    expect(chosen.handle).toBe("my-own-handle");
    const before = await counts(t);
    const taken = problem(
      await call(t, "POST", "/v1/products", physical("X", ["H-6"], { handle: "my-own-handle" })),
    );
    expect(taken).toMatchObject({ status: 409, code: "conflict" });
    expect(taken.body.detail).toContain("my-own-handle");
    expect(await counts(t)).toEqual(before);
  });

  it("gets a variant by SKU with its product's title, kind and status", async () => {
    const res = await call(t, "GET", "/v1/variants/TS-BLU-S");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      ...created.variants[0],
      product_id: created.id,
      product_title: "Blue T-Shirt (Größe)",
      product_handle: "blue-t-shirt-grosse",
      kind: "physical",
      status: "active",
      components: [],
    });
    expect(problem(await call(t, "GET", "/v1/variants/NOPE"))).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("finds a SKU with a slash when the slash is URL-encoded", async () => {
    await createProduct(t, physical("Slashed", ["AB/12"]));
    const res = await call(t, "GET", `/v1/variants/${encodeURIComponent("AB/12")}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().sku).toBe("AB/12");
  });

  it("changes product fields and variants by SKU, adds a variant, and announces it", async () => {
    const res = await call(t, "PATCH", `/v1/products/${created.id}`, {
      title: "Blue Tee",
      status: "archived",
      description: null,
      kind: "physical",
      variants: [
        { sku: "TS-BLU-M", price: 2499, cost: 800, barcode: "036000291452", inventory_policy: "preorder" },
        { sku: "TS-BLU-S", low_stock_threshold: null, barcode: null, weight_grams: 200, title: "Small" },
        { sku: "TS-BLU-L", options: { Size: "L", Color: "Blue" }, price: 2599, currency: "EUR" },
      ],
    });
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p).toMatchObject({ id: created.id, title: "Blue Tee", status: "archived", description: null });
    expect(p.handle).toBe(created.handle);
    const bySku = Object.fromEntries(p.variants.map((v: { sku: string }) => [v.sku, v]));
    expect(bySku["TS-BLU-M"]).toMatchObject({
      price: 2499,
      cost: 800,
      barcode: "036000291452",
      inventory_policy: "preorder",
    });
    expect(bySku["TS-BLU-S"]).toMatchObject({
      low_stock_threshold: null,
      barcode: null,
      weight_grams: 200,
      title: "Small",
      price: 1999,
    });
    expect(bySku["TS-BLU-L"]).toMatchObject({
      price: 2599,
      position: 2,
      options: { Size: "L", Color: "Blue" },
    });
    expect(p.variants.map((v: { sku: string }) => v.sku)).toEqual(["TS-BLU-S", "TS-BLU-M", "TS-BLU-L"]);
    expect(await eventsOfType(t, "product.updated")).toContainEqual(p);
    expect((await call(t, "GET", `/v1/products/${created.id}`)).json()).toEqual(p);
  });

  it("changes the handle, refusing one another product has", async () => {
    const res = await call(t, "PATCH", `/v1/products/${created.id}`, { handle: "blue-tee" });
    expect(res.statusCode).toBe(200);
    expect(res.json().handle).toBe("blue-tee");
    const before = await counts(t);
    const clash = problem(await call(t, "PATCH", `/v1/products/${created.id}`, { handle: "my-own-handle" }));
    expect(clash).toMatchObject({ status: 409, code: "conflict" });
    expect(await counts(t)).toEqual(before);
    expect((await call(t, "GET", `/v1/products/${created.id}`)).json().handle).toBe("blue-tee");
  });

  it("refuses to change a product's kind with 422", async () => {
    const before = await counts(t);
    const res = problem(
      await call(t, "PATCH", `/v1/products/${created.id}`, { kind: "digital", title: "Nope" }),
    );
    expect(res).toMatchObject({ status: 422, code: "validation_failed", paths: ["body.kind"] });
    expect(await counts(t)).toEqual(before);
    expect((await call(t, "GET", `/v1/products/${created.id}`)).json().title).toBe("Blue Tee");
  });

  it("an empty change returns the product and emits nothing", async () => {
    const before = await counts(t);
    const res = await call(t, "PATCH", `/v1/products/${created.id}`, {});
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(created.id);
    expect(await counts(t)).toEqual(before);
    expect(problem(await call(t, "PATCH", "/v1/products/999999", { title: "x" })).status).toBe(404);
  });
});

describe("product lists", () => {
  const made: { id: number; status: string; kind: string; title: string }[] = [];

  beforeAll(async () => {
    const statuses = ["draft", "active", "archived"];
    for (let i = 0; i < 23; i++) {
      const kind = i % 4 === 3 ? "digital" : "physical";
      const p = await createProduct(t, {
        title: `${i % 2 ? "Lamp" : "Mug"} number ${i}`,
        kind,
        status: statuses[i % 3],
        variants: [{ sku: `LIST-${String(i).padStart(2, "0")}`, price: 100 + i, currency: "USD" }],
      });
      made.push(p);
    }
  });

  async function all(query: string, limit: number) {
    const ids: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/products?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await call(t, "GET", url);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.data.length).toBeLessThanOrEqual(limit);
      ids.push(...body.data.map((p: { id: number }) => p.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    return ids;
  }

  it("pages through every product in id order without gaps or repeats", async () => {
    const ids = await all("", 4);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of made) expect(ids).toContain(p.id);
  });

  it("pages through filtered lists", async () => {
    const active = made.filter((p) => p.status === "active").map((p) => p.id);
    const ids = await all("&status=active", 3);
    for (const id of active) expect(ids).toContain(id);
    const listed = await Promise.all(
      ids.map(async (id) => (await call(t, "GET", `/v1/products/${id}`)).json()),
    );
    expect(listed.every((p) => p.status === "active")).toBe(true);

    const digitalDrafts = made.filter((p) => p.kind === "digital" && p.status === "draft").map((p) => p.id);
    expect(await all("&kind=digital&status=draft", 1)).toEqual(digitalDrafts);
  });

  it("searches title and SKU prefixes, case-insensitively", async () => {
    const lamps = made.filter((p) => p.title.startsWith("Lamp")).map((p) => p.id);
    expect(await all("&q=lAMP", 5)).toEqual(lamps);
    const byTitle = await all(`&q=${encodeURIComponent("mug number 1")}`, 50);
    expect(byTitle).toEqual(made.filter((p) => p.title.startsWith("Mug number 1")).map((p) => p.id));
    expect(await all("&q=list-0", 50)).toEqual(made.slice(0, 10).map((p) => p.id));
    expect(await all("&q=list-07", 50)).toEqual([made[7].id]);
    expect(await all("&q=LIST-1&kind=digital", 50)).toEqual([made[11].id, made[15].id, made[19].id]);
    // LIKE wildcards match themselves
    expect(await all("&q=%25", 50)).toEqual([]);
    expect(await all("&q=LIST_0", 50)).toEqual([]);
  });

  it("lists carry full products with variants", async () => {
    const res = await call(t, "GET", `/v1/products?q=LIST-05`);
    const [p] = res.json().data;
    expect(p).toEqual((await call(t, "GET", `/v1/products/${made[5].id}`)).json());
    expect(p.variants[0].sku).toBe("LIST-05");
  });

  it("refuses bad list parameters", async () => {
    for (const query of [
      "limit=0",
      "limit=501",
      "status=gone",
      "kind=service",
      "cursor=xyz",
      "colour=red",
      "q=",
    ]) {
      const res = problem(await call(t, "GET", `/v1/products?${query}`));
      expect(res, query).toMatchObject({ status: 400, code: "validation_failed" });
    }
  });
});
