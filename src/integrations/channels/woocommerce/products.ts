import { sql } from "kysely";
import { createProduct } from "../../../catalog/product-writes.js";
import type { DB } from "../../../db/pool.js";
import { inTransaction } from "../../../db/tx.js";
import { findChannel } from "../../../orders/channels.js";
import { currencyExponent, idText, minorUnits } from "../inbox-json.js";
import { BATCH_LIMIT, type WooClient } from "./client.js";
import { wooClientFor } from "./stock.js";
import "../../../db/schema-inbound.js";

/**
 * WooCommerce products in, by SKU: pages through the shop's products (and the
 * variations of variable ones), remembers which product or variation carries
 * each SKU (`channel_woo_items`, what the stock push sends to), and takes SKUs
 * Keel lacks into the catalogue: one Keel product per WooCommerce product, its
 * name and status (publish → active, else draft), each SKU's regular price in
 * the shop's currency. Keel's stock of them starts at nothing, so they are
 * pushed once Keel's stock of them changes. Safe to run again.
 */

interface WooProduct {
  id: number | string;
  name?: string;
  sku?: string;
  type?: string;
  status?: string;
  regular_price?: string;
  price?: string;
}

export interface WooImportReport {
  products: number;
  variants: number;
  mapped: number;
  without_sku: number;
  products_created: number;
  variants_created: number;
  not_imported: { sku: string; error: string }[];
}

async function* pages(client: WooClient, path: string): AsyncGenerator<WooProduct[]> {
  for (let page = 1; ; page++) {
    const q = new URLSearchParams({ per_page: String(BATCH_LIMIT), page: String(page) });
    const found = await client.request<WooProduct[]>("GET", `${path}?${q}`);
    yield found;
    if (found.length < BATCH_LIMIT) return;
  }
}

export async function importWooProducts(
  db: DB,
  code: string,
  opts: { client?: WooClient } = {},
): Promise<WooImportReport> {
  const channel = await findChannel(db, code);
  if (channel?.kind !== "woocommerce") throw new Error(`${code} is not a WooCommerce channel`);
  const client = opts.client ?? wooClientFor(channel.config);
  const currency = (await client.request<{ value: string }>("GET", "/settings/general/woocommerce_currency"))
    .value;
  const exp = currencyExponent(currency);
  const report: WooImportReport = {
    products: 0,
    variants: 0,
    mapped: 0,
    without_sku: 0,
    products_created: 0,
    variants_created: 0,
    not_imported: [],
  };
  for await (const page of pages(client, "/products")) {
    for (const p of page) {
      report.products++;
      const parentId = idText(p.id)!;
      const items: { sku: string; variation: string | null; title?: string; price: string }[] = [];
      const add = (x: WooProduct, variation: string | null) => {
        report.variants++;
        const sku = x.sku?.trim();
        if (!sku) {
          report.without_sku++;
          return;
        }
        items.push({
          sku,
          variation,
          title: variation ? x.name : undefined,
          price: x.regular_price || x.price || "0",
        });
      };
      if (p.type === "variable") {
        for await (const vs of pages(client, `/products/${parentId}/variations`))
          for (const v of vs) add(v, idText(v.id)!);
      } else add(p, null);
      if (items.length === 0) continue;
      await inTransaction(db, async (tx) => {
        await sql`insert into channel_woo_items (channel_id, sku, product_id, variation_id)
          select ${channel.id}, sku, ${parentId}, variation
          from unnest(${items.map((i) => i.sku)}::text[], ${items.map((i) => i.variation)}::text[]) as x(sku, variation)
          order by sku
          on conflict (channel_id, sku) do update set product_id = excluded.product_id, variation_id = excluded.variation_id`.execute(
          tx,
        );
        report.mapped += items.length;
        const known = new Set(
          (
            await tx
              .selectFrom("variants")
              .select("sku")
              .where(
                "sku",
                "in",
                items.map((i) => i.sku),
              )
              .execute()
          ).map((k) => k.sku),
        );
        const missing = items.filter((i) => !known.has(i.sku));
        if (missing.length === 0) return;
        try {
          await sql`savepoint woo_take_in`.execute(tx);
          const named = p.type === "variable";
          await createProduct(tx, {
            title: p.name?.trim() || missing[0].sku,
            kind: "physical",
            status: p.status === "publish" ? "active" : "draft",
            options: named ? ["Variant"] : [],
            variants: missing.map((m) => ({
              sku: m.sku,
              title: m.title,
              price: minorUnits(m.price, exp),
              currency,
              unit_of_measure: "each",
              inventory_policy: "deny",
              ...(named ? { options: { Variant: m.title ?? m.sku } } : {}),
            })),
          } as Parameters<typeof createProduct>[1]);
          await sql`release savepoint woo_take_in`.execute(tx);
          report.products_created++;
          report.variants_created += missing.length;
        } catch (err) {
          await sql`rollback to savepoint woo_take_in`.execute(tx);
          for (const m of missing)
            if (report.not_imported.length < 100)
              report.not_imported.push({ sku: m.sku, error: (err as Error).message });
        }
      });
    }
  }
  return report;
}
