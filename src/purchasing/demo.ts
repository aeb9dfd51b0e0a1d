import { sql } from "kysely";
import { approveCount, submitCount } from "../counts/review.js";
import { recordCounts, startCount } from "../counts/sessions.js";
import type { DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { saveReorderRule } from "../replenishment/rules.js";
import { createPurchaseOrder } from "./orders.js";
import { receivePurchaseOrder } from "./receipts.js";
import { createSupplier, type SupplierItemRequest, saveSupplierItems } from "./suppliers.js";
import { submitPurchaseOrder } from "./transitions.js";

export const DEMO_PURCHASING_ACTOR = "seed";

export type DemoPurchasingResult =
  | { skipped: true; reason: string }
  | {
      skipped: false;
      suppliers: number;
      supplierItems: number;
      purchaseOrders: { id: number; status: string }[];
      reorderRules: number;
      countId: number;
    };

const SUPPLIERS = [
  { code: "NORDIC-TEXTILE", name: "Nordic Textile AB", lead_time_days: 14 },
  { code: "BALTIC-HOME", name: "Baltic Home Goods", lead_time_days: 7 },
  { code: "EURO-PARTS", name: "Euro Parts GmbH", lead_time_days: 21 },
];
const PACKS = [1, 6, 12];

/**
 * Purchasing demo data on top of a seeded catalogue, written through the
 * purchasing, replenishment and count services (so every change is in the
 * ledger and the outbox): three suppliers; an item at one supplier for every
 * physical variant and a dearer second source for every fifth; at the first
 * location a submitted PO, a partially received one and a draft; reorder
 * rules on ten SKUs; one approved cycle count. Does nothing when suppliers
 * exist already or there is nothing physical to buy.
 */
export async function seedDemoPurchasing(db: DB): Promise<DemoPurchasingResult> {
  return inTransaction(db, async (tx) => {
    await sql`select pg_advisory_xact_lock(7350003)`.execute(tx);
    const existing = await sql<{ n: number }>`select count(*)::int as n from suppliers`.execute(tx);
    if (existing.rows[0].n > 0) return { skipped: true as const, reason: "suppliers exist already" };
    const variants = await sql<{
      id: number;
      sku: string;
      price: number;
      cost: number | null;
      currency: string;
    }>`
      select v.id, v.sku, v.price, v.cost, v.currency from variants v join products p on p.id = v.product_id
      where v.kind = 'physical' and p.status <> 'archived' order by v.id`.execute(tx);
    const location = await sql<{ id: number; code: string }>`
      select id, code from locations where active order by priority, id limit 1`.execute(tx);
    if (variants.rows.length === 0 || location.rows.length === 0) {
      return { skipped: true as const, reason: "no physical variants or no location to buy for" };
    }
    const loc = location.rows[0];
    const currency = mostCommon(variants.rows.map((v) => v.currency));
    const goods = variants.rows.filter((v) => v.currency === currency);
    for (const s of SUPPLIERS) await createSupplier(tx, { ...s, currency });

    const lists = new Map<string, SupplierItemRequest[]>(SUPPLIERS.map((s) => [s.code, []]));
    for (const [i, v] of goods.entries()) {
      const cost = v.cost ?? Math.round(v.price * 0.45);
      const pack = PACKS[i % PACKS.length];
      lists.get(SUPPLIERS[i % 3].code)!.push({
        sku: v.sku,
        supplier_sku: `${SUPPLIERS[i % 3].code.slice(0, 3)}-${String(v.id).padStart(6, "0")}`,
        cost,
        min_order_qty: pack * 2,
        pack_size: pack,
        priority: 100,
      });
      // every fifth SKU has a dearer, faster second source
      if (i % 5 === 0) {
        lists.get(SUPPLIERS[(i + 1) % 3].code)!.push({
          sku: v.sku,
          cost: Math.round(cost * 1.08),
          lead_time_days: 3,
          min_order_qty: 1,
          pack_size: 1,
          priority: 200,
        });
      }
    }
    let items = 0;
    for (const [code, list] of lists) {
      if (list.length) items += (await saveSupplierItems(tx, code, list)).length;
    }

    // orders at the first location, from the first two suppliers' own items
    const bySupplier = (k: number) => goods.filter((_, i) => i % 3 === k);
    const lines = (list: typeof goods, n: number, qty: number) =>
      list.slice(0, n).map((v, i) => ({ sku: v.sku, quantity: qty + 6 * i }));
    const orders: { id: number; status: string }[] = [];
    const first = bySupplier(0);
    const second = bySupplier(1);
    if (first.length) {
      const po = await createPurchaseOrder(
        tx,
        { supplier: SUPPLIERS[0].code, location: loc.code, lines: lines(first, 5, 24), reference: "demo" },
        DEMO_PURCHASING_ACTOR,
      );
      orders.push(await submitPurchaseOrder(tx, po.id, DEMO_PURCHASING_ACTOR));
    }
    if (second.length) {
      const po = await createPurchaseOrder(
        tx,
        { supplier: SUPPLIERS[1].code, location: loc.code, lines: lines(second, 4, 36), reference: "demo" },
        DEMO_PURCHASING_ACTOR,
      );
      await submitPurchaseOrder(tx, po.id, DEMO_PURCHASING_ACTOR);
      const receipt = await receivePurchaseOrder(
        tx,
        po.id,
        {
          lines: po.lines.slice(0, 2).map((l) => ({ sku: l.sku, quantity: Math.floor(l.quantity / 2) })),
          freight: 2500,
          duty: 900,
          reference: "demo delivery note 1",
        },
        DEMO_PURCHASING_ACTOR,
      );
      orders.push(receipt.purchase_order);
    }
    if (second.length > 4) {
      orders.push(
        await createPurchaseOrder(
          tx,
          {
            supplier: SUPPLIERS[1].code,
            location: loc.code,
            lines: lines(second.slice(4), 3, 12),
            reference: "demo",
          },
          DEMO_PURCHASING_ACTOR,
        ),
      );
    }

    const ruled = goods.slice(0, 10);
    for (const [i, v] of ruled.entries()) {
      await saveReorderRule(
        tx,
        i % 2 === 0
          ? { sku: v.sku, location: loc.code, reorder_point: 10 + i, max: 40 + 4 * i }
          : { sku: v.sku, location: loc.code, reorder_point: 8 + i, reorder_quantity: 24 },
        DEMO_PURCHASING_ACTOR,
      );
    }

    // one approved count of five stocked SKUs: four right, one a unit short where that is possible
    const stocked = await sql<{ sku: string; on_hand: number; committed: number }>`
      select v.sku, il.on_hand, il.reserved + il.allocated as committed
      from inventory_levels il join variants v on v.id = il.variant_id
      where il.location_id = ${loc.id} and v.kind = 'physical' and il.on_hand > 0
      order by v.id limit 5`.execute(tx);
    const skus = stocked.rows.length ? stocked.rows.map((r) => r.sku) : [goods[0].sku];
    const count = await startCount(
      tx,
      { location: loc.code, skus, note: "demo cycle count" },
      DEMO_PURCHASING_ACTOR,
    );
    await recordCounts(
      tx,
      count.id,
      count.lines.map((l, i) => {
        const row = stocked.rows.find((r) => r.sku === l.sku);
        const onHand = row?.on_hand ?? 0;
        const short = i === 1 && row && onHand - 1 >= row.committed ? 1 : 0;
        return { sku: l.sku, counted: onHand - short };
      }),
      DEMO_PURCHASING_ACTOR,
    );
    let done = await submitCount(tx, count.id, { uncounted: "skip" }, DEMO_PURCHASING_ACTOR);
    if (done.status === "submitted") done = await approveCount(tx, count.id, DEMO_PURCHASING_ACTOR);

    return {
      skipped: false as const,
      suppliers: SUPPLIERS.length,
      supplierItems: items,
      purchaseOrders: orders.map((o) => ({ id: o.id, status: o.status })),
      reorderRules: ruled.length,
      countId: done.id,
    };
  });
}

function mostCommon(values: string[]): string {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
}
