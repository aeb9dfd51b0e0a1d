import { sql } from "kysely";
import type { Tx } from "../../db/tx.js";
import { DEMO_CURRENCY, type DemoLocation, type DemoProduct } from "./catalog.js";

/** What one call wrote. */
export interface Written {
  products: number;
  variants: number;
  levels: number;
  movements: number;
}

/** Marks every opening balance in the ledger, so a seed's movements can be told apart. */
export const SEED_REFERENCE = "seed:demo";
export const SEED_ACTOR = "seed";

/**
 * Writes locations by code; a location that already exists is kept as it is.
 * Returns every demo location's id by code.
 */
export async function writeLocations(tx: Tx, locations: DemoLocation[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: number; code: string }>`
    insert into locations (code, name, kind, priority, country)
    select * from unnest(
      ${locations.map((l) => l.code)}::text[], ${locations.map((l) => l.name)}::text[],
      ${locations.map((l) => l.kind)}::text[], ${locations.map((l) => l.priority)}::int[],
      ${locations.map((l) => l.country)}::text[])
    on conflict (code) do update set code = excluded.code
    returning id, code`.execute(tx);
  return new Map(rows.rows.map((r) => [r.code, r.id]));
}

/**
 * Writes one batch of products with their variants, bundle components and
 * opening stock, in four statements whatever the batch size. Every nonzero
 * opening balance gets its `initial` movement in the same statement that
 * writes the balance, so the ledger sums to the balances by construction.
 *
 * `skuIds` maps SKUs written by earlier batches to their variant ids (bundle
 * components refer to them) and is extended with this batch's.
 */
export async function writeProducts(
  tx: Tx,
  products: DemoProduct[],
  locationIds: Map<string, number>,
  skuIds: Map<string, number>,
): Promise<Written> {
  const inserted = await sql<{ id: number; handle: string }>`
    insert into products (title, handle, kind, status, description, options)
    select t, h, k, s, d, o::jsonb from unnest(
      ${products.map((p) => p.title)}::text[], ${products.map((p) => p.handle)}::text[],
      ${products.map((p) => p.kind)}::text[], ${products.map((p) => p.status)}::text[],
      ${products.map((p) => p.description)}::text[], ${products.map((p) => JSON.stringify(p.options))}::text[]
    ) as u(t, h, k, s, d, o)
    returning id, handle`.execute(tx);
  const productIds = new Map(inserted.rows.map((r) => [r.handle, r.id]));

  const variants = products.flatMap((p) =>
    p.variants.map((v, position) => ({ ...v, position, kind: p.kind, productId: productIds.get(p.handle)! })),
  );
  const variantRows = await sql<{ id: number; sku: string }>`
    insert into variants (product_id, kind, sku, title, options, position, price, currency, cost, barcode,
                          weight_grams, inventory_policy, low_stock_threshold)
    select pid, k, sku, t, o::jsonb, pos, price, ${DEMO_CURRENCY}, cost, barcode, grams, policy, low
    from unnest(
      ${variants.map((v) => v.productId)}::bigint[], ${variants.map((v) => v.kind)}::text[],
      ${variants.map((v) => v.sku)}::text[], ${variants.map((v) => v.title)}::text[],
      ${variants.map((v) => JSON.stringify(v.options))}::text[], ${variants.map((v) => v.position)}::int[],
      ${variants.map((v) => v.price)}::bigint[], ${variants.map((v) => v.cost)}::bigint[],
      ${variants.map((v) => v.barcode)}::text[], ${variants.map((v) => v.weightGrams)}::int[],
      ${variants.map((v) => v.inventoryPolicy)}::text[], ${variants.map((v) => v.lowStockThreshold)}::int[]
    ) as u(pid, k, sku, t, o, pos, price, cost, barcode, grams, policy, low)
    returning id, sku`.execute(tx);
  for (const r of variantRows.rows) skuIds.set(r.sku, r.id);

  const components = products.flatMap((p) =>
    p.components.map((c) => {
      const id = skuIds.get(c.sku);
      if (id === undefined) throw new Error(`bundle ${p.handle} refers to unknown SKU ${c.sku}`);
      return { productId: productIds.get(p.handle)!, variantId: id, quantity: c.quantity };
    }),
  );
  if (components.length > 0) {
    await sql`
      insert into bundle_components (product_id, component_variant_id, quantity)
      select * from unnest(${components.map((c) => c.productId)}::bigint[],
        ${components.map((c) => c.variantId)}::bigint[], ${components.map((c) => c.quantity)}::int[])`.execute(
      tx,
    );
  }

  const levels = variants.flatMap((v) =>
    v.stock.map((s) => {
      const locationId = locationIds.get(s.location);
      if (locationId === undefined) throw new Error(`unknown location ${s.location}`);
      return { ...s, variantId: skuIds.get(v.sku)!, locationId };
    }),
  );
  let movements = 0;
  if (levels.length > 0) {
    const result = await sql`
      with level as (
        insert into inventory_levels (variant_id, location_id, on_hand, safety_stock, quarantine, damaged)
        select * from unnest(
          ${levels.map((l) => l.variantId)}::bigint[], ${levels.map((l) => l.locationId)}::bigint[],
          ${levels.map((l) => l.onHand)}::int[], ${levels.map((l) => l.safetyStock)}::int[],
          ${levels.map((l) => l.quarantine)}::int[], ${levels.map((l) => l.damaged)}::int[])
        returning variant_id, location_id, on_hand, safety_stock, quarantine, damaged
      )
      insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
      select l.variant_id, l.location_id, b.bucket, b.delta, 'initial', ${SEED_REFERENCE}, ${SEED_ACTOR}
      from level l
      cross join lateral (values ('on_hand', l.on_hand), ('safety_stock', l.safety_stock),
                                 ('quarantine', l.quarantine), ('damaged', l.damaged)) as b(bucket, delta)
      where b.delta <> 0
      order by l.variant_id, l.location_id, b.bucket`.execute(tx);
    movements = Number(result.numAffectedRows ?? 0);
  }
  return { products: products.length, variants: variants.length, levels: levels.length, movements };
}
