import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import { csvStream, decimalAmount } from "./stream.js";

/**
 * The four CSV exports: stock levels, the movement ledger, order lines and
 * the catalogue in Shopify's product CSV template (so a shop can move its
 * catalogue into Shopify, and our import reads the same columns back).
 */

export interface LevelsFilter {
  location?: string;
}

interface LevelRow extends Record<string, unknown> {
  variant_id: number;
  location_id: number;
}

const LEVEL_COLUMNS = [
  "sku",
  "location",
  "on_hand",
  "reserved",
  "allocated",
  "safety_stock",
  "available",
  "incoming",
  "quarantine",
  "damaged",
  "return_pending",
  "updated_at",
] as const;

export function exportLevels(db: DB, f: LevelsFilter) {
  return csvStream<LevelRow>(
    LEVEL_COLUMNS,
    async (after, limit) =>
      (
        await sql<LevelRow>`
          select il.variant_id, il.location_id, v.sku, l.code as location, il.on_hand, il.reserved, il.allocated,
                 il.safety_stock, il.available, il.incoming, il.quarantine, il.damaged, il.return_pending, il.updated_at
          from inventory_levels il join variants v on v.id = il.variant_id join locations l on l.id = il.location_id
          where ${after ? sql`(il.variant_id, il.location_id) > (${after.variant_id}, ${after.location_id})` : sql`true`}
            ${f.location ? sql`and l.code = ${f.location}` : sql``}
          order by il.variant_id, il.location_id limit ${limit}`.execute(db)
      ).rows,
  );
}

export interface MovementsFilter {
  sku?: string;
  location?: string;
  from?: string;
  to?: string;
}

const MOVEMENT_COLUMNS = [
  "id",
  "sku",
  "location",
  "bucket",
  "delta",
  "reason",
  "reference",
  "actor",
  "note",
  "created_at",
] as const;

export function exportMovements(db: DB, f: MovementsFilter) {
  return csvStream<{ id: number } & Record<string, unknown>>(
    MOVEMENT_COLUMNS,
    async (after, limit) =>
      (
        await sql<{ id: number }>`
          select m.id, v.sku, l.code as location, m.bucket, m.delta, m.reason, m.reference, m.actor, m.note, m.created_at
          from inventory_movements m join variants v on v.id = m.variant_id join locations l on l.id = m.location_id
          where m.id > ${after?.id ?? 0}
            ${f.sku ? sql`and v.sku = ${f.sku}` : sql``}
            ${f.location ? sql`and l.code = ${f.location}` : sql``}
            ${f.from ? sql`and m.created_at >= ${f.from}::timestamptz` : sql``}
            ${f.to ? sql`and m.created_at < ${f.to}::timestamptz` : sql``}
          order by m.id limit ${limit}`.execute(db)
      ).rows,
  );
}

export interface OrdersFilter {
  status?: string;
  channel?: string;
  from?: string;
  to?: string;
}

const ORDER_COLUMNS = [
  "number",
  "order_id",
  "channel",
  "external_id",
  "status",
  "payment_status",
  "fulfillment_status",
  "placed_at",
  "customer_email",
  "currency",
  "line_no",
  "sku",
  "quantity",
  "cancelled",
  "unit_price",
] as const;

export function exportOrders(db: DB, f: OrdersFilter) {
  return csvStream<{ order_id: number; line_no: number; currency: string; unit_price: number }>(
    ORDER_COLUMNS,
    async (after, limit) =>
      (
        await sql<{ order_id: number; line_no: number; currency: string; unit_price: number }>`
          select o.number, o.id as order_id, c.code as channel, o.external_id, o.status, o.payment_status,
                 o.fulfillment_status, o.created_at as placed_at, o.customer_email, o.currency,
                 ol.line_no, ol.sku, ol.quantity, ol.cancelled, ol.unit_price
          from order_lines ol join orders o on o.id = ol.order_id join channels c on c.id = o.channel_id
          where ${after ? sql`(ol.order_id, ol.line_no) > (${after.order_id}, ${after.line_no})` : sql`true`}
            ${f.status ? sql`and o.status = ${f.status}` : sql``}
            ${f.channel ? sql`and c.code = ${f.channel}` : sql``}
            ${f.from ? sql`and o.created_at >= ${f.from}::timestamptz` : sql``}
            ${f.to ? sql`and o.created_at < ${f.to}::timestamptz` : sql``}
          order by ol.order_id, ol.line_no limit ${limit}`.execute(db)
      ).rows,
    5_000,
    (row) => ({ ...row, unit_price: decimalAmount(row.unit_price, row.currency) }),
  );
}

interface ProductRow extends Record<string, unknown> {
  product_id: number;
  position: number;
  variant_id: number;
  title: string;
  handle: string;
  description: string | null;
  status: string;
  option_names: string[];
  options: Record<string, string>;
  sku: string;
  barcode: string | null;
  price: number;
  cost: number | null;
  currency: string;
  inventory_policy: string;
  weight_grams: number | null;
}

/** Shopify's product CSV template (2024 on), the columns Keel has values for. */
const SHOPIFY_COLUMNS = [
  "Title",
  "URL handle",
  "Description",
  "Status",
  "SKU",
  "Barcode",
  "Option1 name",
  "Option1 value",
  "Option2 name",
  "Option2 value",
  "Option3 name",
  "Option3 value",
  "Price",
  "Cost per item",
  "Continue selling when out of stock",
  "Weight value (grams)",
] as const;

export function exportProducts(db: DB) {
  let previousProduct = 0;
  return csvStream<ProductRow>(
    SHOPIFY_COLUMNS,
    async (after, limit) =>
      (
        await sql<ProductRow>`
          select p.id as product_id, v.position, v.id as variant_id, p.title, p.handle, p.description, p.status,
                 p.options as option_names, v.options, v.sku, v.barcode, v.price, v.cost, v.currency,
                 v.inventory_policy, v.weight_grams
          from variants v join products p on p.id = v.product_id
          where ${after ? sql`(v.product_id, v.position, v.id) > (${after.product_id}, ${after.position}, ${after.variant_id})` : sql`true`}
          order by v.product_id, v.position, v.id limit ${limit}`.execute(db)
      ).rows,
    2_000,
    (r) => {
      // Shopify's template: the product's own fields on its first row only; every row names its handle
      const first = r.product_id !== previousProduct;
      previousProduct = r.product_id;
      const row: Record<string, unknown> = {
        "URL handle": r.handle,
        SKU: r.sku,
        Barcode: r.barcode ?? "",
        Price: decimalAmount(r.price, r.currency),
        "Cost per item": decimalAmount(r.cost, r.currency),
        "Continue selling when out of stock": r.inventory_policy === "deny" ? "DENY" : "CONTINUE",
        "Weight value (grams)": r.weight_grams ?? "",
      };
      r.option_names.slice(0, 3).forEach((name, i) => {
        if (first) row[`Option${i + 1} name`] = name;
        row[`Option${i + 1} value`] = r.options[name] ?? "";
      });
      if (first) {
        row.Title = r.title;
        row.Description = r.description ?? "";
        row.Status = r.status[0].toUpperCase() + r.status.slice(1);
      }
      return row;
    },
  );
}
