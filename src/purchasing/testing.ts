import type { TestContext } from "../../test/helpers.js";
import { location, ok, product } from "../../test/shop.js";

/** Helpers for the purchasing HTTP tests: a small shop with one supplier, and row counts. */

export async function purchasingShop(t: TestContext) {
  await location(t, "MAIN", 1);
  await location(t, "QC", 2);
  await product(t, ["BOLT"]);
  await product(t, ["NUT"]);
  await product(t, ["WASHER"]);
  await product(t, ["EBOOK-P"], { kind: "digital" });
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme Tools", lead_time_days: 10 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "BOLT", cost: 1000, min_order_qty: 10 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "NUT", cost: 2000, lead_time_days: 3 }, 201);
}

export const variantId = async (t: TestContext, sku: string) =>
  (await t.db.selectFrom("variants").select("id").where("sku", "=", sku).executeTakeFirstOrThrow()).id;
export const locationId = async (t: TestContext, code: string) =>
  (await t.db.selectFrom("locations").select("id").where("code", "=", code).executeTakeFirstOrThrow()).id;

/** Row counts of every table a purchasing write touches, to prove a refused request changed nothing. */
export async function rowCounts(t: TestContext) {
  const tables = [
    "suppliers",
    "supplier_items",
    "purchase_orders",
    "purchase_order_lines",
    "receipts",
    "receipt_lines",
    "inventory_movements",
    "outbox_events",
    "variant_costs",
  ] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const r = await t.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    out[table] = Number(r.n);
  }
  return out;
}

/** A draft PO from ACME to MAIN. */
export async function draft(t: TestContext, lines: unknown[], extra: Record<string, unknown> = {}) {
  return ok(t, "POST", "/v1/purchase-orders", { supplier: "ACME", location: "MAIN", lines, ...extra }, 201);
}
