import { describe, expect, it } from "vitest";
import { isValidGtin } from "../../catalog/gtin.js";
import { demoShop } from "./catalog.js";
import { demoGtin13 } from "./gtin.js";

describe("demo barcodes", () => {
  it("demo GTIN-13s are valid, distinct and in the in-store range", () => {
    const codes = [1, 2, 99, 123456].map(demoGtin13);
    for (const code of codes) {
      expect(code).toMatch(/^20\d{11}$/);
      expect(isValidGtin(code)).toBe(true);
    }
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe("demo shop", () => {
  it("is the same for the same seed, and different for another", () => {
    expect(demoShop(300)).toEqual(demoShop(300));
    expect(demoShop(300, 1)).not.toEqual(demoShop(300, 2));
  });

  it.each([10, 57, 300, 2500])("has exactly %i unique SKUs, handles and barcodes", (skus) => {
    const shop = demoShop(skus);
    const variants = shop.products.flatMap((p) => p.variants);
    expect(variants).toHaveLength(skus);
    expect(new Set(variants.map((v) => v.sku)).size).toBe(skus);
    expect(new Set(shop.products.map((p) => p.handle)).size).toBe(shop.products.length);
    const barcodes = variants.flatMap((v) => (v.barcode ? [v.barcode] : []));
    expect(new Set(barcodes).size).toBe(barcodes.length);
    for (const b of barcodes) expect(isValidGtin(b)).toBe(true);
    for (const v of variants) expect(v.sku).toMatch(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/);
    for (const p of shop.products) expect(p.handle).toMatch(/^[a-z0-9][a-z0-9-]{0,199}$/);
  });

  it("has apparel with options, bundles of physical variants and unstocked digital goods", () => {
    const shop = demoShop(1000);
    const byKind = (kind: string) => shop.products.filter((p) => p.kind === kind);
    const physical = byKind("physical");
    const physicalSkus = new Set(physical.flatMap((p) => p.variants.map((v) => v.sku)));

    expect(shop.locations.map((l) => l.code)).toEqual(["WH-EAST", "WH-WEST", "STORE-1"]);
    expect(physical.some((p) => p.options.includes("Size") && p.options.includes("Color"))).toBe(true);
    for (const p of physical) {
      for (const v of p.variants) expect(Object.keys(v.options).sort()).toEqual([...p.options].sort());
    }

    expect(byKind("bundle").length).toBeGreaterThan(0);
    for (const b of byKind("bundle")) {
      expect(b.components.length).toBeGreaterThan(0);
      for (const c of b.components) expect(physicalSkus.has(c.sku)).toBe(true);
      expect(b.variants.every((v) => v.stock.length === 0)).toBe(true);
    }
    expect(byKind("digital").length).toBeGreaterThan(0);
    expect(byKind("digital").every((p) => p.variants.every((v) => v.stock.length === 0))).toBe(true);

    const policies = new Set(physical.flatMap((p) => p.variants.map((v) => v.inventoryPolicy)));
    expect(policies).toEqual(new Set(["deny", "backorder", "preorder"]));
    const stock = physical.flatMap((p) => p.variants.flatMap((v) => v.stock));
    expect(stock.some((s) => s.onHand === 0)).toBe(true);
    expect(stock.some((s) => s.safetyStock > 0)).toBe(true);
    expect(stock.some((s) => s.quarantine > 0)).toBe(true);
    expect(stock.some((s) => s.damaged > 0)).toBe(true);
    for (const s of stock) {
      for (const n of [s.onHand, s.safetyStock, s.quarantine, s.damaged]) {
        expect(Number.isInteger(n) && n >= 0).toBe(true);
      }
    }
  });
});
