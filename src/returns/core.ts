import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { NotFound } from "../http/errors.js";
import type { ReturnStatus } from "./tables.js";
import type { ReturnFacts } from "./transitions.js";

/** The return row as services use it, and the numbers its transitions look at. */
export interface ReturnRow {
  id: number;
  number: string;
  order_id: number;
  status: ReturnStatus;
  location_id: number | null;
  exchange_order_id: number | null;
}

export interface ReturnLineRow {
  id: number;
  order_line_id: number;
  sku: string;
  quantity: number;
  received: number;
  inspected: number;
}

/** A return id from an id or a return number (R-5001); NotFound otherwise. */
export async function returnIdOf(db: DB | Tx, key: string | number): Promise<number> {
  const byId = typeof key === "number" || /^\d{1,15}$/.test(key);
  const row = byId
    ? await db.selectFrom("returns").select("id").where("id", "=", Number(key)).executeTakeFirst()
    : await db.selectFrom("returns").select("id").where("number", "=", key).executeTakeFirst();
  if (!row) throw new NotFound("return", key);
  return row.id;
}

/**
 * Locks the return row. Lock order across modules: return, then its order,
 * then stock rows.
 */
export async function lockReturn(
  tx: Tx,
  key: string | number,
): Promise<{ ret: ReturnRow; lines: ReturnLineRow[] }> {
  const id = await returnIdOf(tx, key);
  const ret = (
    await sql<ReturnRow>`select id, number, order_id, status, location_id, exchange_order_id
                         from returns where id = ${id} for update`.execute(tx)
  ).rows[0];
  const lines = await tx
    .selectFrom("return_lines")
    .select(["id", "order_line_id", "sku", "quantity", "received", "inspected"])
    .where("return_id", "=", id)
    .orderBy("line_no")
    .execute();
  return { ret, lines };
}

export function factsOf(ret: ReturnRow, lines: ReturnLineRow[]): ReturnFacts {
  const sum = (k: "quantity" | "received" | "inspected") => lines.reduce((s, l) => s + l[k], 0);
  return {
    status: ret.status,
    requested: sum("quantity"),
    received: sum("received"),
    inspected: sum("inspected"),
  };
}

/**
 * What one unit of an order line is made of in stock: the variant itself, or
 * a bundle's components with their quantities, as the order held them.
 */
export async function unitsOf(
  tx: Tx,
  orderLineIds: number[],
): Promise<Map<number, { variantId: number; perUnit: number }[]>> {
  const rows = await sql<{ line_id: number; variant_id: number; per_unit: number }>`
    select distinct line_id, variant_id, per_unit from order_allocations
    where line_id = any(${orderLineIds}::bigint[]) order by line_id, variant_id`.execute(tx);
  const result = new Map<number, { variantId: number; perUnit: number }[]>();
  for (const r of rows.rows) {
    const list = result.get(r.line_id) ?? [];
    list.push({ variantId: r.variant_id, perUnit: r.per_unit });
    result.set(r.line_id, list);
  }
  return result;
}
