import type { Kysely } from "kysely";
import type { Database, InventoryPolicy, ProductKind, ProductStatus } from "../db/schema.js";
import { NotFound } from "../http/errors.js";

/**
 * What other modules (inventory, orders, purchasing…) need from the catalog:
 * variants by SKU, locations by code, bundle components. Every function takes
 * a pool or a transaction handle and is read-only.
 *
 * Convention: `find…` returns undefined (or leaves the key out of the map) for
 * an unknown SKU or code; `require…` throws NotFound (404).
 */

/** A pool (`DB`) or a transaction (`Tx`). */
export type Queryable = Kysely<Database>;

export interface CatalogVariant {
  id: number;
  sku: string;
  product_id: number;
  /** the product's kind: digital variants are not stock-tracked; bundles have no stock of their own */
  kind: ProductKind;
  /** the product's status */
  status: ProductStatus;
  title: string | null;
  inventory_policy: InventoryPolicy;
  low_stock_threshold: number | null;
  price: number;
  currency: string;
}

export interface CatalogLocation {
  id: number;
  code: string;
  name: string;
  kind: "warehouse" | "store" | "3pl";
  /** lower = preferred */
  priority: number;
  country: string | null;
  active: boolean;
}

export interface BundleComponent {
  variantId: number;
  sku: string;
  /** units of the component in one unit of the bundle */
  quantity: number;
}

/** Variants by exact SKU, in one query. Unknown SKUs are absent from the map. */
export async function findVariantsBySku(
  db: Queryable,
  skus: readonly string[],
): Promise<Map<string, CatalogVariant>> {
  const wanted = [...new Set(skus)];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom("variants as v")
    .innerJoin("products as p", "p.id", "v.product_id")
    .select([
      "v.id",
      "v.sku",
      "v.product_id",
      "v.kind",
      "p.status",
      "v.title",
      "v.inventory_policy",
      "v.low_stock_threshold",
      "v.price",
      "v.currency",
    ])
    .where("v.sku", "=", (eb) => eb.fn.any(eb.val(wanted)))
    .execute();
  return new Map(rows.map((r) => [r.sku, r]));
}

/** One variant by exact SKU; throws NotFound for an unknown SKU. */
export async function requireVariantBySku(db: Queryable, sku: string): Promise<CatalogVariant> {
  const found = (await findVariantsBySku(db, [sku])).get(sku);
  if (!found) throw new NotFound("variant", sku);
  return found;
}

const locationColumns = ["id", "code", "name", "kind", "priority", "country", "active"] as const;

/** A location by exact code, or undefined. */
export async function findLocationByCode(db: Queryable, code: string): Promise<CatalogLocation | undefined> {
  return db.selectFrom("locations").select(locationColumns).where("code", "=", code).executeTakeFirst();
}

/** A location by exact code; throws NotFound for an unknown code. */
export async function requireLocation(db: Queryable, code: string): Promise<CatalogLocation> {
  const found = await findLocationByCode(db, code);
  if (!found) throw new NotFound("location", code);
  return found;
}

/** Locations by exact code, in one query. Unknown codes are absent from the map. */
export async function findLocationsByCode(
  db: Queryable,
  codes: readonly string[],
): Promise<Map<string, CatalogLocation>> {
  const wanted = [...new Set(codes)];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom("locations")
    .select(locationColumns)
    .where("code", "=", (eb) => eb.fn.any(eb.val(wanted)))
    .execute();
  return new Map(rows.map((r) => [r.code, r]));
}

/** Every location in preference order (priority, then id); `activeOnly` leaves out inactive ones. */
export async function listLocations(
  db: Queryable,
  opts: { activeOnly?: boolean } = {},
): Promise<CatalogLocation[]> {
  let query = db.selectFrom("locations").select(locationColumns).orderBy("priority").orderBy("id");
  if (opts.activeOnly) query = query.where("active", "=", true);
  return query.execute();
}

/**
 * The components of bundle variants, keyed by bundle variant id, each list in
 * component variant id order. Ids of variants that are not bundles (or do not
 * exist) are absent from the map. Every variant of a bundle product has the
 * product's components.
 */
export async function bundleComponents(
  db: Queryable,
  variantIds: readonly number[],
): Promise<Map<number, BundleComponent[]>> {
  const wanted = [...new Set(variantIds)];
  const result = new Map<number, BundleComponent[]>();
  if (wanted.length === 0) return result;
  const rows = await db
    .selectFrom("variants as b")
    .innerJoin("bundle_components as bc", "bc.product_id", "b.product_id")
    .innerJoin("variants as c", "c.id", "bc.component_variant_id")
    .select(["b.id as bundleId", "c.id as variantId", "c.sku", "bc.quantity"])
    .where("b.id", "=", (eb) => eb.fn.any(eb.val(wanted)))
    .where("b.kind", "=", "bundle")
    .orderBy("b.id")
    .orderBy("c.id")
    .execute();
  for (const r of rows) {
    const list = result.get(r.bundleId) ?? [];
    if (list.length === 0) result.set(r.bundleId, list);
    list.push({ variantId: r.variantId, sku: r.sku, quantity: r.quantity });
  }
  return result;
}
