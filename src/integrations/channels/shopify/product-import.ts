import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction } from "../../../db/tx.js";
import type { ShopifyClient } from "./client.js";
import { variantPages } from "./inventory-api.js";
import { enqueueTargets, type ShopifyChannel } from "./targets.js";
import "../../../db/schema-shopify.js";

export interface ImportProgress {
  pages: number;
  variants: number;
  mapped: number;
  without_sku: number;
  /** SKUs Shopify has that Keel's catalogue does not (mapped all the same; pushed once Keel has them) */
  unknown_in_keel: number;
  targets: number;
}

/**
 * Pages through the shop's variants and maps each SKU to its variant and
 * inventory item (`shopify_inventory_items`), page by page, each page in its
 * own transaction (a re-run repeats nothing harmful: it upserts). Mapped SKUs
 * Keel knows get stock targets, read from Shopify before their first push.
 */
export async function importProducts(
  db: DB,
  client: ShopifyClient,
  ch: ShopifyChannel,
  onProgress: (p: ImportProgress) => Promise<void> = async () => {},
): Promise<ImportProgress> {
  const p: ImportProgress = {
    pages: 0,
    variants: 0,
    mapped: 0,
    without_sku: 0,
    unknown_in_keel: 0,
    targets: 0,
  };
  for await (const page of variantPages(client)) {
    p.pages++;
    p.variants += page.length;
    const seen = new Set<string>();
    const rows = page.filter((v) => {
      const ok = v.sku && v.inventoryItem?.id && !seen.has(v.sku);
      if (v.sku) seen.add(v.sku);
      if (!v.sku) p.without_sku++;
      return ok;
    });
    await inTransaction(db, async (tx) => {
      if (rows.length) {
        await sql`insert into shopify_inventory_items as m (channel_id, sku, inventory_item_gid, variant_gid, product_gid)
          select ${ch.id}, sku, item, variant, product
          from unnest(${rows.map((r) => r.sku!)}::text[], ${rows.map((r) => r.inventoryItem!.id)}::text[],
                      ${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.product?.id ?? null)}::text[])
            as x(sku, item, variant, product)
          order by sku
          on conflict (channel_id, sku) do update set inventory_item_gid = excluded.inventory_item_gid,
            variant_gid = excluded.variant_gid, product_gid = excluded.product_gid, imported_at = now()`.execute(
          tx,
        );
        const known = await tx
          .selectFrom("variants")
          .select("sku")
          .where("sku", "=", sql<string>`any(${rows.map((r) => r.sku!)}::text[])`)
          .execute();
        p.mapped += rows.length;
        p.unknown_in_keel += rows.length - known.length;
        p.targets += await enqueueTargets(
          tx,
          ch,
          known.map((k) => k.sku),
        );
      }
    });
    await onProgress(p);
  }
  return p;
}
