import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";
import { decodeCursor, isId, page } from "../http/pagination.js";
import { findStockItems, resolveSkus, type StockItem } from "./refs.js";

export interface LevelView {
  sku: string;
  location: string;
  on_hand: number;
  reserved: number;
  allocated: number;
  safety_stock: number;
  available: number;
  incoming: number;
  quarantine: number;
  damaged: number;
  return_pending: number;
  updated_at: string;
}

const isLevelCursor = (v: unknown): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every(isId);

export async function listLevels(
  db: DB,
  q: { sku?: string; location?: string; limit: number; cursor?: string },
): Promise<{ data: LevelView[]; next_cursor: string | null }> {
  const after = decodeCursor(q.cursor, isLevelCursor);
  const rows = await sql<LevelView & { variant_id: number; location_id: number; updated_at: Date }>`
    select il.variant_id, il.location_id, v.sku, l.code as location, il.on_hand, il.reserved, il.allocated,
      il.safety_stock, il.available, il.incoming, il.quarantine, il.damaged, il.return_pending, il.updated_at
    from inventory_levels il join variants v on v.id = il.variant_id join locations l on l.id = il.location_id
    where true
      ${q.sku ? sql`and v.sku = ${q.sku}` : sql``}
      ${q.location ? sql`and l.code = ${q.location}` : sql``}
      ${after ? sql`and (il.variant_id, il.location_id) > (${after[0]}, ${after[1]})` : sql``}
    order by il.variant_id, il.location_id limit ${q.limit + 1}`.execute(db);
  const p = page(rows.rows, q.limit, (r) => [r.variant_id, r.location_id]);
  return {
    next_cursor: p.next_cursor,
    data: p.data.map(({ variant_id: _v, location_id: _l, updated_at, ...r }) => ({
      ...r,
      updated_at: updated_at.toISOString(),
    })),
  };
}

export interface Availability {
  sku: string;
  kind: string;
  /** null: not stock-tracked (digital goods are always available). */
  available: number | null;
  locations: { location: string; available: number }[];
}

/**
 * Sellable units per SKU: the sum over active locations of on_hand − reserved
 * − allocated − safety_stock (never below 0). A bundle is as available as its
 * scarcest component allows, location by location, since a bundle ships from
 * one place.
 */
export async function availabilityOf(db: DB | Tx, items: StockItem[]): Promise<Map<string, Availability>> {
  const variantIds = items.flatMap((i) =>
    i.kind === "bundle" ? i.components.map((c) => c.variantId) : i.kind === "physical" ? [i.id] : [],
  );
  const rows = await sql<{ variant_id: number; code: string; available: number }>`
    select il.variant_id, l.code, il.available from inventory_levels il join locations l on l.id = il.location_id
    where l.active and il.variant_id = any(${[...new Set(variantIds)]}::bigint[])
    order by l.priority, l.id`.execute(db);
  const locationsInOrder = [...new Set(rows.rows.map((r) => r.code))];
  const at = new Map(rows.rows.map((r) => [`${r.variant_id}@${r.code}`, r.available]));
  const result = new Map<string, Availability>();
  for (const item of items) {
    if (item.kind === "digital") {
      result.set(item.sku, { sku: item.sku, kind: item.kind, available: null, locations: [] });
      continue;
    }
    const parts = item.kind === "bundle" ? item.components : [{ variantId: item.id, quantity: 1 }];
    const locations = locationsInOrder
      .filter((code) => parts.every((p) => at.has(`${p.variantId}@${code}`)))
      .map((code) => ({
        location: code,
        available: Math.min(
          ...parts.map((p) => Math.floor((at.get(`${p.variantId}@${code}`) ?? 0) / p.quantity)),
        ),
      }));
    result.set(item.sku, {
      sku: item.sku,
      kind: item.kind,
      available: locations.reduce((s, l) => s + l.available, 0),
      locations,
    });
  }
  return result;
}

export async function availabilityForSku(db: DB, sku: string): Promise<Availability> {
  const items = await resolveSkus(db, [{ sku, path: "query.sku" }]).catch(() => {
    throw new NotFound("variant", sku);
  });
  return (await availabilityOf(db, [...items.values()])).get(sku)!;
}

export type StorefrontStatus = "in_stock" | "low_stock" | "out_of_stock" | "preorder" | "backorder";

/**
 * What a shopper may be told: in stock, low stock (with how many, at or below
 * the variant's threshold), or at zero what its policy allows: pre-order,
 * backorder, or out of stock. Unknown SKUs are reported out of stock rather
 * than revealing the catalogue.
 */
export async function storefrontAvailability(
  db: DB,
  skus: string[],
): Promise<{ sku: string; status: StorefrontStatus; quantity?: number }[]> {
  const items = [...(await findStockItems(db, skus)).values()].filter((i) => i.status === "active");
  const avail = await availabilityOf(db, items);
  const bySku = new Map(items.map((i) => [i.sku, i]));
  return skus.map((sku) => {
    const item = bySku.get(sku);
    const a = avail.get(sku);
    if (!item || !a) return { sku, status: "out_of_stock" as const };
    if (a.available === null) return { sku, status: "in_stock" as const };
    if (a.available <= 0) {
      const status =
        item.inventory_policy === "preorder"
          ? "preorder"
          : item.inventory_policy === "backorder"
            ? "backorder"
            : "out_of_stock";
      return { sku, status };
    }
    if (item.low_stock_threshold !== null && a.available <= item.low_stock_threshold) {
      return { sku, status: "low_stock" as const, quantity: a.available };
    }
    return { sku, status: "in_stock" as const };
  });
}

export interface MovementView {
  id: number;
  sku: string;
  location: string;
  bucket: string;
  delta: number;
  reason: string;
  reference: string | null;
  actor: string;
  note: string | null;
  created_at: string;
}

export async function listMovements(
  db: DB,
  q: { sku?: string; location?: string; reference?: string; reason?: string; limit: number; cursor?: string },
): Promise<{ data: MovementView[]; next_cursor: string | null }> {
  const before = decodeCursor(q.cursor, isId);
  const rows = await sql<MovementView & { created_at: Date }>`
    select m.id, v.sku, l.code as location, m.bucket, m.delta, m.reason, m.reference, m.actor, m.note, m.created_at
    from inventory_movements m join variants v on v.id = m.variant_id join locations l on l.id = m.location_id
    where true
      ${q.sku ? sql`and m.variant_id = (select id from variants where sku = ${q.sku})` : sql``}
      ${q.location ? sql`and m.location_id = (select id from locations where code = ${q.location})` : sql``}
      ${q.reference ? sql`and m.reference = ${q.reference}` : sql``}
      ${q.reason ? sql`and m.reason = ${q.reason}` : sql``}
      ${before !== undefined ? sql`and m.id < ${before}` : sql``}
    order by m.id desc limit ${q.limit + 1}`.execute(db);
  const p = page(rows.rows, q.limit, (r) => r.id);
  return {
    next_cursor: p.next_cursor,
    data: p.data.map((r) => ({ ...r, created_at: r.created_at.toISOString() })),
  };
}
