import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { FulfilmentState } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { NotFound, ValidationFailed } from "../http/errors.js";
import { decodeCursor, isId, page } from "../http/pagination.js";
import { resolveLocations, resolveSkus } from "../inventory/refs.js";
import { orderIdOf } from "./core.js";

/**
 * Fulfilments as pickers see them: what to take from which bin. Lines are
 * the stocked variants to pick (a bundle's components, named with the bundle
 * they are for), sorted by bin and SKU; a list of fulfilments also comes with
 * one pick list over all of them, for batch picking.
 */

export interface FulfilmentLineView {
  sku: string;
  quantity: number;
  bin: string | null;
  /** The bundle SKU the units are components of. */
  for_sku: string | null;
  line_no: number;
}

export interface FulfilmentView {
  id: number;
  order_id: number;
  order_number: string;
  /** null for a supplier's drop-ship shipment, which names its purchase order instead */
  location: string | null;
  purchase_order: string | null;
  status: FulfilmentState;
  carrier: string | null;
  tracking_number: string | null;
  created_at: string;
  shipped_at: string | null;
  delivered_at: string | null;
  lines: FulfilmentLineView[];
}

type Head = Omit<FulfilmentView, "lines" | "created_at" | "shipped_at" | "delivered_at"> & {
  created_at: Date;
  shipped_at: Date | null;
  delivered_at: Date | null;
};

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export async function fulfilmentViews(db: DB | Tx, ids: number[]): Promise<FulfilmentView[]> {
  if (ids.length === 0) return [];
  const heads = await sql<Head>`
    select f.id, f.order_id, o.number as order_number, loc.code as location,
      case when f.purchase_order_id is not null then 'PO-' || lpad(f.purchase_order_id::text, 6, '0') end as purchase_order,
      f.status, f.carrier, f.tracking_number, f.created_at, f.shipped_at, f.delivered_at
    from fulfillments f join orders o on o.id = f.order_id left join locations loc on loc.id = f.location_id
    where f.id = any(${ids}::bigint[]) order by f.id`.execute(db);
  const lines = await sql<FulfilmentLineView & { fulfillment_id: number }>`
    select fl.fulfillment_id, v.sku, fl.quantity, b.bin, case when l.kind = 'bundle' then l.sku end as for_sku, l.line_no
    from fulfillment_lines fl join fulfillments f on f.id = fl.fulfillment_id
    join order_allocations a on a.id = fl.allocation_id join variants v on v.id = a.variant_id
    join order_lines l on l.id = a.line_id
    left join pick_bins b on b.variant_id = a.variant_id and b.location_id = f.location_id
    where fl.fulfillment_id = any(${ids}::bigint[])
    order by fl.fulfillment_id, b.bin nulls last, v.sku, l.line_no`.execute(db);
  return heads.rows.map((h) => ({
    ...h,
    created_at: iso(h.created_at)!,
    shipped_at: iso(h.shipped_at),
    delivered_at: iso(h.delivered_at),
    lines: lines.rows.filter((l) => l.fulfillment_id === h.id).map(({ fulfillment_id: _f, ...l }) => l),
  }));
}

export async function getFulfilment(db: DB | Tx, id: number): Promise<FulfilmentView> {
  const [view] = await fulfilmentViews(db, [id]);
  if (!view) throw new NotFound("fulfillment", id);
  return view;
}

export interface PickItem {
  bin: string | null;
  sku: string;
  quantity: number;
  fulfillments: number[];
}

/** One walk through the bins for every fulfilment given. */
export function pickList(views: FulfilmentView[]): PickItem[] {
  const items = new Map<string, PickItem>();
  for (const f of views) {
    for (const l of f.lines) {
      const key = `${f.location}\u0000${l.bin ?? ""}\u0000${l.sku}`;
      const item = items.get(key) ?? { bin: l.bin, sku: l.sku, quantity: 0, fulfillments: [] };
      item.quantity += l.quantity;
      if (!item.fulfillments.includes(f.id)) item.fulfillments.push(f.id);
      items.set(key, item);
    }
  }
  return [...items.values()].sort(
    (a, b) =>
      Number(a.bin === null) - Number(b.bin === null) ||
      (a.bin ?? "").localeCompare(b.bin ?? "") ||
      a.sku.localeCompare(b.sku),
  );
}

export async function listFulfilments(
  db: DB,
  q: { location?: string; status?: FulfilmentState; order?: string; limit: number; cursor?: string },
) {
  const after = decodeCursor(q.cursor, isId);
  const locationId = q.location
    ? (await resolveLocations(db, [{ code: q.location, path: "querystring.location" }])).get(q.location)!.id
    : undefined;
  const orderId = q.order ? await orderIdOf(db, q.order) : undefined;
  const rows = await sql<{ id: number }>`
    select id from fulfillments where true
      ${locationId !== undefined ? sql`and location_id = ${locationId}` : sql``}
      ${q.status ? sql`and status = ${q.status}` : sql``}
      ${orderId !== undefined ? sql`and order_id = ${orderId}` : sql``}
      ${after !== undefined ? sql`and id > ${after}` : sql``}
    order by id limit ${q.limit + 1}`.execute(db);
  const p = page(rows.rows, q.limit, (r) => r.id);
  const data = await fulfilmentViews(
    db,
    p.data.map((r) => r.id),
  );
  return { data, pick_list: pickList(data), next_cursor: p.next_cursor };
}

/** Sets (or moves) the bin a variant is picked from at a location. */
export async function setBin(tx: Tx, req: { sku: string; location: string; bin: string }) {
  const item = (await resolveSkus(tx, [{ sku: req.sku, path: "body.sku" }])).get(req.sku)!;
  if (item.kind !== "physical") {
    throw new ValidationFailed([
      { path: "body.sku", message: `${req.sku} is ${item.kind}: only physical goods have bins` },
    ]);
  }
  const loc = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
    req.location,
  )!;
  await sql`insert into pick_bins (variant_id, location_id, bin) values (${item.id}, ${loc.id}, ${req.bin})
            on conflict (variant_id, location_id) do update set bin = excluded.bin`.execute(tx);
  return { sku: req.sku, location: req.location, bin: req.bin };
}

export async function listBins(db: DB, location?: string) {
  const rows = await sql<{ sku: string; location: string; bin: string }>`
    select v.sku, l.code as location, b.bin from pick_bins b join variants v on v.id = b.variant_id
    join locations l on l.id = b.location_id
    ${location ? sql`where l.code = ${location}` : sql``}
    order by l.code, b.bin, v.sku limit 5000`.execute(db);
  return { data: rows.rows };
}
