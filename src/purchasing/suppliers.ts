import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { pgErrorCode, type Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, NotFound, ValidationFailed } from "../http/errors.js";
import { resolveSkus } from "../inventory/refs.js";

/** Suppliers and what they sell us (supplier items: their SKU, cost, lead time, MOQ, pack size). */

export interface SupplierRequest {
  code: string;
  name: string;
  lead_time_days: number;
  currency: string;
  email?: string;
}

export interface SupplierView {
  id: number;
  code: string;
  name: string;
  lead_time_days: number;
  currency: string;
  email: string | null;
  active: boolean;
  created_at: string;
}

export interface SupplierItemRequest {
  sku: string;
  supplier_sku?: string;
  cost: number;
  lead_time_days?: number;
  min_order_qty: number;
  pack_size: number;
  priority: number;
  /** the supplier ships the item straight to the customer (migrations/082_dropship.sql) */
  dropship?: boolean;
}

export interface SupplierItemView {
  supplier: string;
  sku: string;
  supplier_sku: string | null;
  cost: number;
  currency: string;
  lead_time_days: number | null;
  effective_lead_time_days: number;
  min_order_qty: number;
  pack_size: number;
  priority: number;
  dropship: boolean;
}

export async function createSupplier(tx: Tx, req: SupplierRequest): Promise<SupplierView> {
  try {
    await tx
      .insertInto("suppliers")
      .values({
        code: req.code,
        name: req.name,
        lead_time_days: req.lead_time_days,
        currency: req.currency,
        email: req.email ?? null,
      })
      .execute();
  } catch (err) {
    // the transaction is rolled back by the caller as the error passes
    if (pgErrorCode(err) === "23505") {
      throw new Conflict(`supplier ${JSON.stringify(req.code)} already exists`, { supplier: req.code });
    }
    throw err;
  }
  const view = await getSupplier(tx, req.code);
  await emit(tx, [{ type: "supplier.created", payload: view }]);
  return view;
}

export async function getSupplier(db: DB | Tx, code: string): Promise<SupplierView> {
  const row = await db.selectFrom("suppliers").selectAll().where("code", "=", code).executeTakeFirst();
  if (!row) throw new NotFound("supplier", code);
  return supplierView(row);
}

export async function listSuppliers(db: DB | Tx): Promise<SupplierView[]> {
  const rows = await db.selectFrom("suppliers").selectAll().orderBy("code").execute();
  return rows.map(supplierView);
}

function supplierView(row: {
  id: number;
  code: string;
  name: string;
  lead_time_days: number;
  currency: string;
  email: string | null;
  active: boolean;
  created_at: Date;
}): SupplierView {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    lead_time_days: row.lead_time_days,
    currency: row.currency,
    email: row.email,
    active: row.active,
    created_at: row.created_at.toISOString(),
  };
}

/** A supplier by code for a write; unknown is a 422 naming the field. */
export async function resolveSupplier(
  db: DB | Tx,
  code: string,
  path: string,
): Promise<{ id: number; code: string; currency: string; lead_time_days: number; active: boolean }> {
  const row = await db
    .selectFrom("suppliers")
    .select(["id", "code", "currency", "lead_time_days", "active"])
    .where("code", "=", code)
    .executeTakeFirst();
  if (!row) throw new ValidationFailed([{ path, message: `unknown supplier ${JSON.stringify(code)}` }]);
  return row;
}

/** Creates or replaces what a supplier sells for one SKU. Returns whether it was new. */
export async function saveSupplierItem(
  tx: Tx,
  supplierCode: string,
  req: SupplierItemRequest,
): Promise<{ created: boolean; item: SupplierItemView }> {
  const [saved] = await saveSupplierItems(tx, supplierCode, [req], (_i) => "body.sku");
  return saved;
}

/**
 * Creates or replaces many items of one supplier in one statement (price
 * lists, the demo seed). Unknown or non-physical SKUs are a 422 naming each.
 */
export async function saveSupplierItems(
  tx: Tx,
  supplierCode: string,
  reqs: SupplierItemRequest[],
  pathOf: (i: number) => string = (i) => `body.items.${i}.sku`,
): Promise<{ created: boolean; item: SupplierItemView }[]> {
  const supplier = await tx
    .selectFrom("suppliers")
    .select(["id", "code", "currency", "lead_time_days"])
    .where("code", "=", supplierCode)
    .executeTakeFirst();
  if (!supplier) throw new NotFound("supplier", supplierCode);
  const items = await resolveSkus(
    tx,
    reqs.map((r, i) => ({ sku: r.sku, path: pathOf(i) })),
  );
  const errors = reqs.flatMap((r, i) => {
    const kind = items.get(r.sku)!.kind;
    return kind === "physical"
      ? []
      : [{ path: pathOf(i), message: `${r.sku} is a ${kind} product; only physical goods are purchased` }];
  });
  if (errors.length) throw new ValidationFailed(errors);
  const col = <T>(f: (r: SupplierItemRequest) => T) => reqs.map(f);
  const rows = await sql<{ variant_id: number; created: boolean }>`
    insert into supplier_items (supplier_id, variant_id, supplier_sku, cost, lead_time_days, min_order_qty,
                                pack_size, priority, dropship)
    select ${supplier.id}, * from unnest(${col((r) => items.get(r.sku)!.id)}::bigint[],
      ${col((r) => r.supplier_sku ?? null)}::text[], ${col((r) => r.cost)}::bigint[],
      ${col((r) => r.lead_time_days ?? null)}::int[], ${col((r) => r.min_order_qty)}::int[],
      ${col((r) => r.pack_size)}::int[], ${col((r) => r.priority)}::int[],
      ${col((r) => r.dropship ?? false)}::boolean[])
    on conflict (supplier_id, variant_id) do update set
      supplier_sku = excluded.supplier_sku, cost = excluded.cost, lead_time_days = excluded.lead_time_days,
      min_order_qty = excluded.min_order_qty, pack_size = excluded.pack_size, priority = excluded.priority,
      dropship = excluded.dropship, updated_at = now()
    returning variant_id, (xmax = 0) as created`.execute(tx);
  const created = new Map(rows.rows.map((r) => [r.variant_id, r.created]));
  const saved = reqs.map((r) => ({
    created: created.get(items.get(r.sku)!.id) ?? false,
    item: {
      supplier: supplier.code,
      sku: r.sku,
      supplier_sku: r.supplier_sku ?? null,
      cost: r.cost,
      currency: supplier.currency,
      lead_time_days: r.lead_time_days ?? null,
      effective_lead_time_days: r.lead_time_days ?? supplier.lead_time_days,
      min_order_qty: r.min_order_qty,
      pack_size: r.pack_size,
      priority: r.priority,
      dropship: r.dropship ?? false,
    },
  }));
  await emit(
    tx,
    saved.map((s) => ({ type: "supplier_item.saved", payload: s.item })),
  );
  return saved;
}

export async function listSupplierItems(
  db: DB | Tx,
  q: { supplier?: string; sku?: string },
): Promise<SupplierItemView[]> {
  const rows = await sql<SupplierItemView>`
    select s.code as supplier, v.sku, si.supplier_sku, si.cost, s.currency, si.lead_time_days,
           coalesce(si.lead_time_days, s.lead_time_days) as effective_lead_time_days,
           si.min_order_qty, si.pack_size, si.priority, si.dropship
    from supplier_items si join suppliers s on s.id = si.supplier_id join variants v on v.id = si.variant_id
    where true
      ${q.supplier ? sql`and s.code = ${q.supplier}` : sql``}
      ${q.sku ? sql`and v.sku = ${q.sku}` : sql``}
    order by v.sku, si.priority, si.cost, s.code`.execute(db);
  return rows.rows;
}

export interface SourcingOption {
  supplierId: number;
  supplier: string;
  supplierName: string;
  currency: string;
  supplierSku: string | null;
  cost: number;
  leadTimeDays: number;
  minOrderQty: number;
  packSize: number;
}

/**
 * Where each variant is bought: the named supplier when given, else the
 * preferred one (lowest priority number, then lowest cost) among active
 * suppliers. Variants nobody sells are absent from the map. Drop-ship items
 * are never a source for restocking (the supplier ships to customers), unless
 * the supplier is named.
 */
export async function sourcingFor(
  db: DB | Tx,
  variantIds: number[],
  supplierId?: number,
): Promise<Map<number, SourcingOption>> {
  if (variantIds.length === 0) return new Map();
  const rows = await sql<SourcingOption & { variant_id: number }>`
    select distinct on (si.variant_id) si.variant_id, s.id as "supplierId", s.code as supplier,
      s.name as "supplierName", s.currency, si.supplier_sku as "supplierSku", si.cost,
      coalesce(si.lead_time_days, s.lead_time_days) as "leadTimeDays",
      si.min_order_qty as "minOrderQty", si.pack_size as "packSize"
    from supplier_items si join suppliers s on s.id = si.supplier_id
    where si.variant_id = any(${variantIds}::bigint[]) and s.active
      ${supplierId !== undefined ? sql`and s.id = ${supplierId}` : sql`and not si.dropship`}
    order by si.variant_id, si.priority, si.cost, s.id`.execute(db);
  return new Map(rows.rows.map(({ variant_id, ...o }) => [variant_id, o]));
}
