import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { NotFound } from "../http/errors.js";
import {
  bundleComponents,
  findLocationByCode,
  findLocationsByCode,
  findVariantsBySku,
  listLocations,
  requireLocation,
  requireVariantBySku,
} from "./lookup.js";
import { call, createProduct, physical } from "./testing.js";

let t: TestContext;
const ids: Record<string, number> = {};

beforeAll(async () => {
  t = await testApp();
  for (const [code, priority, active] of [
    ["B", 10, true],
    ["A", 10, true],
    ["Z", 1, false],
  ] as const) {
    const res = await call(t, "POST", "/v1/locations", {
      code,
      name: code,
      kind: "warehouse",
      priority,
      active,
    });
    expect(res.statusCode).toBe(201);
  }
  const mug = await createProduct(t, physical("Mug", ["MUG-1", "MUG-2"]));
  const card = await createProduct(t, {
    title: "Gift card",
    kind: "digital",
    status: "draft",
    variants: [{ sku: "CARD-1", price: 2500, currency: "EUR" }],
  });
  const set = await createProduct(t, {
    title: "Mug set",
    kind: "bundle",
    status: "active",
    options: ["Size"],
    variants: [
      { sku: "SET-2", options: { Size: "2" }, price: 1800, currency: "EUR", inventory_policy: "backorder" },
      { sku: "SET-4", options: { Size: "4" }, price: 3400, currency: "EUR", low_stock_threshold: 2 },
    ],
    components: [
      { sku: "MUG-2", quantity: 3 },
      { sku: "MUG-1", quantity: 1 },
    ],
  });
  for (const p of [mug, card, set]) for (const v of p.variants) ids[v.sku] = v.id;
  ids.mugProduct = mug.id;
});
afterAll(() => t.close());

describe("catalog lookups", () => {
  it("finds variants by SKU in one call, leaving unknown SKUs out", async () => {
    const found = await findVariantsBySku(t.db, ["SET-2", "CARD-1", "MUG-1", "NOPE", "MUG-1"]);
    expect([...found.keys()].sort()).toEqual(["CARD-1", "MUG-1", "SET-2"]);
    expect(found.get("SET-2")).toEqual({
      id: ids["SET-2"],
      sku: "SET-2",
      product_id: expect.any(Number),
      kind: "bundle",
      status: "active",
      title: null,
      inventory_policy: "backorder",
      low_stock_threshold: null,
      price: 1800,
      currency: "EUR",
    });
    expect(found.get("CARD-1")).toMatchObject({ kind: "digital", status: "draft" });
    expect(found.get("MUG-1")).toMatchObject({ kind: "physical", product_id: ids.mugProduct });
    expect((await findVariantsBySku(t.db, [])).size).toBe(0);
  });

  it("requireVariantBySku throws NotFound for an unknown SKU", async () => {
    expect((await requireVariantBySku(t.db, "SET-4")).low_stock_threshold).toBe(2);
    await expect(requireVariantBySku(t.db, "mug-1")).rejects.toBeInstanceOf(NotFound);
  });

  it("finds locations by code; requireLocation throws NotFound", async () => {
    expect(await findLocationByCode(t.db, "A")).toMatchObject({ code: "A", priority: 10, active: true });
    expect(await findLocationByCode(t.db, "nope")).toBeUndefined();
    await expect(requireLocation(t.db, "nope")).rejects.toBeInstanceOf(NotFound);
    const many = await findLocationsByCode(t.db, ["Z", "A", "Q"]);
    expect([...many.keys()].sort()).toEqual(["A", "Z"]);
  });

  it("lists locations in preference order, optionally only active ones", async () => {
    expect((await listLocations(t.db)).map((l) => l.code)).toEqual(["Z", "B", "A"]);
    expect((await listLocations(t.db, { activeOnly: true })).map((l) => l.code)).toEqual(["B", "A"]);
  });

  it("gives every variant of a bundle the bundle's components; other ids are absent", async () => {
    const map = await bundleComponents(t.db, [ids["SET-2"], ids["SET-4"], ids["MUG-1"], 987654]);
    expect([...map.keys()].sort()).toEqual([ids["SET-2"], ids["SET-4"]].sort());
    const expected = [
      { variantId: ids["MUG-1"], sku: "MUG-1", quantity: 1 },
      { variantId: ids["MUG-2"], sku: "MUG-2", quantity: 3 },
    ];
    expect(map.get(ids["SET-2"])).toEqual(expected);
    expect(map.get(ids["SET-4"])).toEqual(expected);
    expect((await bundleComponents(t.db, [])).size).toBe(0);
  });

  it("works inside a transaction, seeing its uncommitted writes", async () => {
    await t.db
      .transaction()
      .execute(async (tx) => {
        await tx.updateTable("variants").set({ price: 1 }).where("sku", "=", "MUG-1").execute();
        expect((await findVariantsBySku(tx, ["MUG-1"])).get("MUG-1")?.price).toBe(1);
        throw new Error("roll back");
      })
      .catch(() => {});
    expect((await findVariantsBySku(t.db, ["MUG-1"])).get("MUG-1")?.price).toBe(1000);
  });
});
