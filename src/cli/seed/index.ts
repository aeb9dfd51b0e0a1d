import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import { fillBackordersOnArrival } from "../../orders/backorders.js";
import { seedDemoActivity } from "./activity.js";
import { DEFAULT_SEED, type DemoProduct, demoShop } from "./catalog.js";
import { writeLocations, writeProducts } from "./write.js";

export { DEFAULT_SEED, demoShop } from "./catalog.js";
export { demoGtin13 } from "./gtin.js";
export { SEED_ACTOR, SEED_REFERENCE } from "./write.js";

export const DEFAULT_DEMO_SKUS = 500;

/** Serialises seeding across processes; the check for existing products runs under it. */
const SEED_LOCK = 7_350_002;
/** Variants per batch: each batch is four statements, whatever its size. */
const BATCH_VARIANTS = 4000;

export interface SeedOptions {
  skus?: number;
  seed?: number;
  /** Called after each batch with the SKUs written so far. */
  onProgress?: (done: number, total: number) => void;
  /** Also make suppliers, purchase orders, orders and returns (default true). */
  activity?: boolean;
}

export type SeedResult =
  | { skipped: true; existingProducts: number }
  | {
      skipped: false;
      locations: number;
      products: number;
      skus: number;
      bundles: number;
      digital: number;
      levels: number;
      movements: number;
      orders?: number;
      returns?: number;
      ms: number;
    };

/**
 * Loads the demo shop (see catalog.ts) into an empty catalogue, in one
 * transaction: interrupted, it leaves nothing behind. It writes the tables
 * directly with bulk SQL rather than through the catalog and inventory
 * services, so it emits no outbox events; the opening stock is in the ledger
 * as `initial` movements (reference `seed:demo`, actor `seed`).
 *
 * Does nothing when the database already has products.
 */
export async function seedDemo(db: DB, opts: SeedOptions = {}): Promise<SeedResult> {
  const result = await seedCatalogue(db, opts);
  if (!result.skipped && opts.activity !== false) {
    fillBackordersOnArrival(); // the demo's receipts fill its backorders, as in a running Keel
    const activity = await seedDemoActivity(db);
    return { ...result, orders: activity.orders, returns: activity.returns, ms: result.ms + activity.ms };
  }
  return result;
}

async function seedCatalogue(db: DB, opts: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const skus = opts.skus ?? DEFAULT_DEMO_SKUS;
  const shop = demoShop(skus, opts.seed ?? DEFAULT_SEED);
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${SEED_LOCK})`.execute(tx);
    const existing = await sql<{ n: number }>`select count(*)::int as n from products`.execute(tx);
    if (existing.rows[0].n > 0) return { skipped: true as const, existingProducts: existing.rows[0].n };

    const locationIds = await writeLocations(tx, shop.locations);
    const skuIds = new Map<string, number>();
    const totals = { products: 0, variants: 0, levels: 0, movements: 0 };
    opts.onProgress?.(0, skus);
    for (const batch of batches(shop.products, BATCH_VARIANTS)) {
      const written = await writeProducts(tx, batch, locationIds, skuIds);
      totals.products += written.products;
      totals.variants += written.variants;
      totals.levels += written.levels;
      totals.movements += written.movements;
      opts.onProgress?.(totals.variants, skus);
    }
    const count = (kind: string) =>
      shop.products.filter((p) => p.kind === kind).reduce((n, p) => n + p.variants.length, 0);
    return {
      skipped: false as const,
      locations: shop.locations.length,
      products: totals.products,
      skus: totals.variants,
      bundles: count("bundle"),
      digital: count("digital"),
      levels: totals.levels,
      movements: totals.movements,
      ms: Math.round(performance.now() - started),
    };
  });
}

/** Products in order, cut into batches of about `size` variants. */
function* batches(products: DemoProduct[], size: number): Generator<DemoProduct[]> {
  let batch: DemoProduct[] = [];
  let variants = 0;
  for (const product of products) {
    batch.push(product);
    variants += product.variants.length;
    if (variants >= size) {
      yield batch;
      batch = [];
      variants = 0;
    }
  }
  if (batch.length > 0) yield batch;
}
