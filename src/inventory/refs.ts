import {
  bundleComponents,
  type CatalogLocation,
  findLocationsByCode,
  findVariantsBySku,
  listLocations,
} from "../catalog/lookup.js";
import type { DB } from "../db/pool.js";
import type { InventoryPolicy, ProductKind, ProductStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";

/**
 * The natural keys channels use (SKU, location code) resolved to what stock
 * operations need, on top of the catalogue's lookups; unknown keys become a
 * 422 naming the request field.
 */

export interface StockItem {
  id: number;
  sku: string;
  kind: ProductKind;
  /** the product's status: only active products are sold or held */
  status: ProductStatus;
  inventory_policy: InventoryPolicy;
  low_stock_threshold: number | null;
  /** For bundles: what one unit consists of. */
  components: { variantId: number; sku: string; quantity: number }[];
}

export type LocationRef = CatalogLocation;

/** Known SKUs with their bundle components; unknown SKUs are absent from the map. */
export async function findStockItems(db: DB | Tx, skus: readonly string[]): Promise<Map<string, StockItem>> {
  const variants = await findVariantsBySku(db, skus);
  const bundles = [...variants.values()].filter((v) => v.kind === "bundle").map((v) => v.id);
  const components = bundles.length ? await bundleComponents(db, bundles) : new Map();
  const found = new Map<string, StockItem>();
  for (const v of variants.values()) {
    found.set(v.sku, {
      id: v.id,
      sku: v.sku,
      kind: v.kind,
      status: v.status,
      inventory_policy: v.inventory_policy,
      low_stock_threshold: v.low_stock_threshold,
      components: components.get(v.id) ?? [],
    });
  }
  return found;
}

/** Variants by SKU with bundle components; unknown SKUs are a 422 naming the field. */
export async function resolveSkus(
  db: DB | Tx,
  skus: { sku: string; path: string }[],
): Promise<Map<string, StockItem>> {
  const found = await findStockItems(
    db,
    skus.map((s) => s.sku),
  );
  const missing = skus.filter((s) => !found.has(s.sku));
  if (missing.length) {
    throw new ValidationFailed(
      missing.map((m) => ({ path: m.path, message: `unknown SKU ${JSON.stringify(m.sku)}` })),
    );
  }
  return found;
}

/** Every location, in the order Keel prefers to take stock from them. */
export async function allLocations(db: DB | Tx): Promise<LocationRef[]> {
  return listLocations(db);
}

/** Locations by code; unknown codes are a 422 naming the field. */
export async function resolveLocations(
  db: DB | Tx,
  codes: { code: string; path: string }[],
): Promise<Map<string, LocationRef>> {
  const byCode = await findLocationsByCode(
    db,
    codes.map((c) => c.code),
  );
  const missing = codes.filter((c) => !byCode.has(c.code));
  if (missing.length) {
    throw new ValidationFailed(
      missing.map((m) => ({ path: m.path, message: `unknown location ${JSON.stringify(m.code)}` })),
    );
  }
  return byCode;
}
