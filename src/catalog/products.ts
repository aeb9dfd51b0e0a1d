import { type Selectable, sql } from "kysely";
import type { ProductKind, ProductStatus, ProductsTable, VariantsTable } from "../db/schema.js";
import { NotFound } from "../http/errors.js";
import { decodeCursor, isId, page } from "../http/pagination.js";
import type { Queryable } from "./lookup.js";
import type { Component, Product, Variant, VariantDetail } from "./responses.js";

/** Reading products: one, a filtered page, a variant by SKU. */

export function toVariant(row: Selectable<VariantsTable>): Variant {
  return {
    id: row.id,
    product_id: row.product_id,
    sku: row.sku,
    kind: row.kind,
    title: row.title,
    options: row.options,
    position: row.position,
    price: row.price,
    currency: row.currency,
    cost: row.cost,
    barcode: row.barcode,
    weight_grams: row.weight_grams,
    unit_of_measure: row.unit_of_measure,
    inventory_policy: row.inventory_policy,
    low_stock_threshold: row.low_stock_threshold,
    tax_class: row.tax_class,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Components of bundle products, keyed by bundle product id. */
export async function componentsOf(db: Queryable, productIds: number[]): Promise<Map<number, Component[]>> {
  const result = new Map<number, Component[]>();
  if (productIds.length === 0) return result;
  const rows = await db
    .selectFrom("bundle_components as bc")
    .innerJoin("variants as c", "c.id", "bc.component_variant_id")
    .select(["bc.product_id as bundle", "c.id", "c.product_id", "c.sku", "c.title", "bc.quantity"])
    .where("bc.product_id", "=", (eb) => eb.fn.any(eb.val(productIds)))
    .orderBy("bc.product_id")
    .orderBy("c.id")
    .execute();
  for (const r of rows) {
    const list = result.get(r.bundle) ?? [];
    if (list.length === 0) result.set(r.bundle, list);
    list.push({
      variant_id: r.id,
      product_id: r.product_id,
      sku: r.sku,
      title: r.title,
      quantity: r.quantity,
    });
  }
  return result;
}

/** Full products (variants in position order, bundle components) for product rows, in their order. */
export async function assembleProducts(db: Queryable, rows: Selectable<ProductsTable>[]): Promise<Product[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const bundles = rows.filter((r) => r.kind === "bundle").map((r) => r.id);
  const [variants, components] = await Promise.all([
    db
      .selectFrom("variants")
      .selectAll()
      .where("product_id", "=", (eb) => eb.fn.any(eb.val(ids)))
      .orderBy("product_id")
      .orderBy("position")
      .orderBy("id")
      .execute(),
    componentsOf(db, bundles),
  ]);
  const byProduct = new Map<number, Variant[]>();
  for (const v of variants) {
    const list = byProduct.get(v.product_id) ?? [];
    if (list.length === 0) byProduct.set(v.product_id, list);
    list.push(toVariant(v));
  }
  return rows.map((r) => ({
    id: r.id,
    title: r.title,
    handle: r.handle,
    kind: r.kind,
    status: r.status,
    description: r.description,
    options: r.options,
    variants: byProduct.get(r.id) ?? [],
    components: components.get(r.id) ?? [],
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  }));
}

export async function getProduct(db: Queryable, id: number): Promise<Product> {
  const row = await db.selectFrom("products").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw new NotFound("product", id);
  return (await assembleProducts(db, [row]))[0];
}

/** `%`, `_` and `\` match themselves in a LIKE pattern. */
export function likePrefix(text: string): string {
  return `${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface ProductFilter {
  limit: number;
  cursor?: string;
  status?: ProductStatus;
  kind?: ProductKind;
  /** case-insensitive prefix of the title or of any of the product's SKUs */
  q?: string;
}

/**
 * A page of products in id order. The text search is a prefix match so that
 * it runs on the lower(title) and lower(sku) pattern indexes.
 */
export async function listProductPage(db: Queryable, filter: ProductFilter) {
  const after = decodeCursor(filter.cursor, isId);
  let query = db
    .selectFrom("products as p")
    .selectAll("p")
    .orderBy("p.id")
    .limit(filter.limit + 1);
  if (after !== undefined) query = query.where("p.id", ">", after);
  if (filter.status) query = query.where("p.status", "=", filter.status);
  if (filter.kind) query = query.where("p.kind", "=", filter.kind);
  if (filter.q) {
    const pattern = likePrefix(filter.q);
    query = query.where(
      "p.id",
      "in",
      sql<number>`(select id from products where lower(title) like ${pattern}
        union select product_id from variants where lower(sku) like ${pattern})`,
    );
  }
  const rows = await query.execute();
  const result = page(rows, filter.limit, (last) => last.id);
  return { data: await assembleProducts(db, result.data), next_cursor: result.next_cursor };
}

/** A variant by exact SKU with its product's title, status and (bundles) components. */
export async function getVariantDetail(db: Queryable, sku: string): Promise<VariantDetail> {
  const row = await db
    .selectFrom("variants as v")
    .innerJoin("products as p", "p.id", "v.product_id")
    .selectAll("v")
    .select(["p.title as product_title", "p.handle as product_handle", "p.status as product_status"])
    .where("v.sku", "=", sku)
    .executeTakeFirst();
  if (!row) throw new NotFound("variant", sku);
  const { product_title, product_handle, product_status, ...variant } = row;
  const components = row.kind === "bundle" ? await componentsOf(db, [row.product_id]) : new Map();
  return {
    ...toVariant(variant),
    product_title,
    product_handle,
    status: product_status,
    components: components.get(row.product_id) ?? [],
  };
}
