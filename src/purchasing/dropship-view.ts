import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/** What a drop-ship purchase order adds to its view: the ship-to, the shipment, the order lines it is for. */
export interface DropshipPart {
  ship_to: Record<string, unknown>;
  day: string;
  carrier: string | null;
  tracking_number: string | null;
  shipped_at: string | null;
  orders: {
    order_id: number;
    order_number: string;
    sku: string;
    quantity: number;
    cancelled: number;
    shipped: number;
  }[];
}

export async function dropshipPart(db: DB | Tx, id: number): Promise<DropshipPart | null> {
  const r = await sql<Omit<DropshipPart, "shipped_at"> & { shipped_at: Date | null }>`
    select po.ship_to, po.dropship_day::text as day, po.carrier, po.tracking_number, po.shipped_at,
      coalesce((select json_agg(json_build_object('order_id', d.order_id, 'order_number', o.number, 'sku', v.sku,
          'quantity', d.quantity, 'cancelled', d.cancelled, 'shipped', d.shipped) order by d.order_id, d.order_line_id)
        from dropship_lines d join orders o on o.id = d.order_id join variants v on v.id = d.variant_id
        where d.purchase_order_id = po.id), '[]') as orders
    from purchase_orders po where po.id = ${id} and po.ship_to is not null`.execute(db);
  const row = r.rows[0];
  if (!row) return null;
  return { ...row, shipped_at: row.shipped_at?.toISOString() ?? null };
}
