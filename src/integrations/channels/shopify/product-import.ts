import { sql } from "kysely";
import { createProduct, updateProduct } from "../../../catalog/product-writes.js";
import type { DB } from "../../../db/pool.js";
import type { Tx } from "../../../db/tx.js";
import { inTransaction } from "../../../db/tx.js";
import { currencyExponent, minorUnits } from "../inbox-json.js";
import type { ShopifyClient } from "./client.js";
import { type VariantNode, variantPages } from "./inventory-api.js";
import { enqueueTargets, type ShopifyChannel } from "./targets.js";
import "../../../db/schema-shopify.js";

export interface ImportProgress {
  pages: number;
  variants: number;
  mapped: number;
  without_sku: number;
  /** SKUs Shopify has that Keel's catalogue does not (mapped all the same; pushed once Keel has them) */
  unknown_in_keel: number;
  /** with products: import, Keel products created for them, and variants added to ones created before */
  products_created: number;
  variants_created: number;
  /** variants that could not be taken in (a SKU Keel refuses, a price in no currency), with why */
  not_imported: { sku: string; error: string }[];
  targets: number;
}

/**
 * Pages through the shop's variants and maps each SKU to its variant and
 * inventory item (`shopify_inventory_items`), page by page, each page in its
 * own transaction (a re-run repeats nothing harmful: it upserts). Mapped SKUs
 * Keel knew get stock targets. With `products: "import"` (the default) SKUs
 * Keel lacks become Keel products (one per Shopify product: its title and
 * status, each variant's SKU, title and price in the shop's currency); their
 * stock is Keel's to count, so they are pushed once Keel's stock of them
 * changes, never zeroed on Shopify by the import itself.
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
    products_created: 0,
    variants_created: 0,
    not_imported: [],
    targets: 0,
  };
  const importing = ch.settings.products === "import";
  const currency = importing
    ? (await client.request<{ shop: { currencyCode: string } }>("query KeelShop { shop { currencyCode } }"))
        .data.shop.currencyCode
    : "";
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
        if (importing) {
          const have = new Set(known.map((k) => k.sku));
          await takeIn(
            tx,
            ch,
            rows.filter((r) => !have.has(r.sku!)),
            currency,
            p,
          );
        }
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

const STATUS: Record<string, "active" | "draft" | "archived"> = {
  ACTIVE: "active",
  DRAFT: "draft",
  ARCHIVED: "archived",
};

/** Keel products for shop variants Keel lacks, grouped by Shopify product; a variant Keel refuses is reported, not fatal. */
async function takeIn(tx: Tx, ch: ShopifyChannel, rows: VariantNode[], currency: string, p: ImportProgress) {
  const groups = new Map<string, VariantNode[]>();
  for (const r of rows) {
    if (!r.product) continue;
    groups.set(r.product.id, [...(groups.get(r.product.id) ?? []), r]);
  }
  const exp = currencyExponent(currency);
  for (const [gid, vs] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const variants = vs.map((v) => ({
      sku: v.sku!,
      title: v.title && v.title !== "Default Title" ? v.title : undefined,
      price: minorUnits(v.price ?? "0", exp),
      currency,
    }));
    // a product whose earlier variants came on an earlier page (or an earlier import) is extended
    const existing = await sql<{ product_id: number }>`
      select v.product_id from shopify_inventory_items m join variants v on v.sku = m.sku
      where m.channel_id = ${ch.id} and m.product_gid = ${gid} and not (m.sku = any(${variants.map((v) => v.sku)}::text[]))
      limit 1`.execute(tx);
    try {
      await sql`savepoint take_in`.execute(tx);
      const named = variants.length > 1 || existing.rows.length > 0;
      if (existing.rows[0]) {
        await updateProduct(tx, existing.rows[0].product_id, {
          variants: variants.map((v) => ({ ...v, options: { Variant: v.title ?? v.sku } })),
        });
      } else {
        await createProduct(tx, {
          title: vs[0].product!.title,
          kind: "physical",
          status: STATUS[vs[0].product!.status] ?? "draft",
          options: named ? ["Variant"] : [],
          variants: variants.map((v) => ({
            ...v,
            ...(named ? { options: { Variant: v.title ?? v.sku } } : {}),
            unit_of_measure: "each",
            inventory_policy: "deny",
          })),
        } as Parameters<typeof createProduct>[1]);
        p.products_created++;
      }
      p.variants_created += variants.length;
      await sql`release savepoint take_in`.execute(tx);
    } catch (err) {
      await sql`rollback to savepoint take_in`.execute(tx);
      for (const v of variants)
        if (p.not_imported.length < 100) p.not_imported.push({ sku: v.sku, error: (err as Error).message });
    }
  }
}
