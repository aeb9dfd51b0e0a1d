import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { InventoryPolicy, ProductKind } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";

/** Resolution of the natural keys channels use (SKU, location code) to rows. */

export interface StockItem {
  id: number;
  sku: string;
  kind: ProductKind;
  inventory_policy: InventoryPolicy;
  low_stock_threshold: number | null;
  /** For bundles: what one unit consists of. */
  components: { variantId: number; sku: string; quantity: number }[];
}

export interface LocationRef {
  id: number;
  code: string;
  priority: number;
  country: string | null;
  active: boolean;
}

/** Variants by SKU with bundle components; unknown SKUs are a 422 naming the field. */
export async function resolveSkus(
  db: DB | Tx,
  skus: { sku: string; path: string }[],
): Promise<Map<string, StockItem>> {
  const wanted = [...new Set(skus.map((s) => s.sku))];
  const rows = await sql<
    StockItem & { comps: { variantId: number; sku: string; quantity: number }[] | null }
  >`
    select v.id, v.sku, v.kind, v.inventory_policy, v.low_stock_threshold,
      (select json_agg(json_build_object('variantId', c.component_variant_id, 'sku', cv.sku, 'quantity', c.quantity)
                       order by c.component_variant_id)
         from bundle_components c join variants cv on cv.id = c.component_variant_id
        where v.kind = 'bundle' and c.product_id = v.product_id) as comps
    from variants v where v.sku = any(${wanted}::text[])`.execute(db);
  const found = new Map<string, StockItem>();
  for (const r of rows.rows) {
    const { comps, ...item } = r;
    found.set(r.sku, { ...item, components: comps ?? [] });
  }
  const missing = skus.filter((s) => !found.has(s.sku));
  if (missing.length) {
    throw new ValidationFailed(
      missing.map((m) => ({ path: m.path, message: `unknown SKU ${JSON.stringify(m.sku)}` })),
    );
  }
  return found;
}

export async function allLocations(db: DB | Tx): Promise<LocationRef[]> {
  return db
    .selectFrom("locations")
    .select(["id", "code", "priority", "country", "active"])
    .orderBy("priority")
    .orderBy("id")
    .execute();
}

/** Locations by code; unknown codes are a 422 naming the field. */
export async function resolveLocations(
  db: DB | Tx,
  codes: { code: string; path: string }[],
): Promise<Map<string, LocationRef>> {
  const wanted = [...new Set(codes.map((c) => c.code))];
  const byCode = new Map<string, LocationRef>();
  if (wanted.length) {
    const rows = await db
      .selectFrom("locations")
      .select(["id", "code", "priority", "country", "active"])
      .where("code", "in", wanted)
      .execute();
    for (const r of rows) byCode.set(r.code, r);
  }
  const missing = codes.filter((c) => !byCode.has(c.code));
  if (missing.length) {
    throw new ValidationFailed(
      missing.map((m) => ({ path: m.path, message: `unknown location ${JSON.stringify(m.code)}` })),
    );
  }
  return byCode;
}
