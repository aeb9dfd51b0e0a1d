import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { PurchaseOrderStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { NotFound, ValidationFailed } from "../http/errors.js";
import { decodeCursor, isId, page } from "../http/pagination.js";
import { resolveLocations, resolveSkus } from "../inventory/refs.js";
import { costCurrencies } from "./costing.js";
import { type DropshipPart, dropshipPart } from "./dropship-view.js";
import { allowedActions } from "./lifecycle.js";
import { resolveSupplier } from "./suppliers.js";

/** Purchase orders: creating drafts, reading them. Transitions are in transitions.ts, receipts in receipts.ts. */

export interface PurchaseOrderRequest {
  supplier: string;
  location: string;
  lines: {
    sku: string;
    quantity: number;
    unit_cost?: number;
    expected_date?: string;
    allow_over_receipt?: boolean;
  }[];
  expected_date?: string;
  allow_over_receipt?: boolean;
  reference?: string;
  note?: string;
}

export interface PurchaseOrderLineView {
  line_no: number;
  sku: string;
  quantity: number;
  unit_cost: number;
  received: number;
  outstanding: number;
  expected_date: string | null;
  allow_over_receipt: boolean;
}

export interface PurchaseOrderView {
  id: number;
  number: string;
  supplier: string;
  /** null for a drop-ship order, which ships to the customer (`dropship.ship_to`) */
  location: string | null;
  status: PurchaseOrderStatus;
  allowed_actions: string[];
  currency: string;
  expected_date: string | null;
  allow_over_receipt: boolean;
  reference: string | null;
  note: string | null;
  total: number;
  submitted_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  created_at: string;
  lines: PurchaseOrderLineView[];
  dropship: DropshipPart | null;
  receipts: { id: number; created_at: string; units: number }[];
}

export const poNumber = (id: number) => `PO-${String(id).padStart(6, "0")}`;
export const poReference = (id: number) => `po:${id}`;

/** Creates a draft. Unit costs default to the supplier item's cost; nothing changes stock yet. */
export async function createPurchaseOrder(
  tx: Tx,
  req: PurchaseOrderRequest,
  actor: string,
): Promise<PurchaseOrderView> {
  const seen = new Map<string, number>();
  req.lines.forEach((l, i) => {
    if (seen.has(l.sku)) {
      throw new ValidationFailed([
        { path: `body.lines.${i}.sku`, message: `listed twice (also line ${seen.get(l.sku)})` },
      ]);
    }
    seen.set(l.sku, i);
  });
  const supplier = await resolveSupplier(tx, req.supplier, "body.supplier");
  const location = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
    req.location,
  )!;
  const items = await resolveSkus(
    tx,
    req.lines.map((l, i) => ({ sku: l.sku, path: `body.lines.${i}.sku` })),
  );
  const variantIds = req.lines.map((l) => items.get(l.sku)!.id);
  const offered = await sql<{ variant_id: number; cost: number }>`
    select variant_id, cost from supplier_items
    where supplier_id = ${supplier.id} and variant_id = any(${variantIds}::bigint[])`.execute(tx);
  const costOf = new Map(offered.rows.map((r) => [r.variant_id, r.cost]));
  const costed = await costCurrencies(tx, variantIds);
  const errors = req.lines.flatMap((l, i) => {
    const item = items.get(l.sku)!;
    if (item.kind !== "physical") {
      return [
        {
          path: `body.lines.${i}.sku`,
          message: `${l.sku} is a ${item.kind} product; only physical goods are purchased`,
        },
      ];
    }
    if (l.unit_cost === undefined && !costOf.has(item.id)) {
      return [
        {
          path: `body.lines.${i}.unit_cost`,
          message: `required: supplier ${req.supplier} has no item for ${l.sku}`,
        },
      ];
    }
    const cur = costed.get(item.id);
    if (cur && cur !== supplier.currency) {
      return [
        {
          path: `body.lines.${i}.sku`,
          message: `${l.sku} is costed in ${cur}; supplier ${req.supplier} invoices in ${supplier.currency}`,
        },
      ];
    }
    return [];
  });
  if (errors.length) throw new ValidationFailed(errors);

  const po = await tx
    .insertInto("purchase_orders")
    .values({
      supplier_id: supplier.id,
      location_id: location.id,
      currency: supplier.currency,
      expected_date: req.expected_date ?? null,
      allow_over_receipt: req.allow_over_receipt ?? false,
      reference: req.reference ?? null,
      note: req.note ?? null,
      actor,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx
    .insertInto("purchase_order_lines")
    .values(
      req.lines.map((l, i) => {
        const variantId = items.get(l.sku)!.id;
        return {
          purchase_order_id: po.id,
          line_no: i + 1,
          variant_id: variantId,
          quantity: l.quantity,
          unit_cost: l.unit_cost ?? costOf.get(variantId)!,
          expected_date: l.expected_date ?? null,
          allow_over_receipt: l.allow_over_receipt ?? false,
        };
      }),
    )
    .execute();
  const view = await getPurchaseOrder(tx, po.id);
  await emit(tx, [{ type: "purchase_order.created", payload: view }]);
  return view;
}

export async function getPurchaseOrder(db: DB | Tx, id: number): Promise<PurchaseOrderView> {
  const head = await sql<{
    id: number;
    supplier: string;
    location: string | null;
    status: PurchaseOrderStatus;
    dropship: boolean;
    currency: string;
    expected_date: string | null;
    allow_over_receipt: boolean;
    reference: string | null;
    note: string | null;
    submitted_at: Date | null;
    ended_at: Date | null;
    end_reason: string | null;
    created_at: Date;
  }>`
    select po.id, s.code as supplier, l.code as location, po.status, po.ship_to is not null as dropship,
      po.currency, po.expected_date::text,
      po.allow_over_receipt, po.reference, po.note, po.submitted_at, po.ended_at, po.end_reason, po.created_at
    from purchase_orders po join suppliers s on s.id = po.supplier_id left join locations l on l.id = po.location_id
    where po.id = ${id}`.execute(db);
  const po = head.rows[0];
  if (!po) throw new NotFound("purchase order", id);
  const lines = await sql<PurchaseOrderLineView>`
    select pl.line_no, v.sku, pl.quantity, pl.unit_cost, pl.received,
      greatest(pl.quantity - pl.received, 0) as outstanding, pl.expected_date::text, pl.allow_over_receipt
    from purchase_order_lines pl join variants v on v.id = pl.variant_id
    where pl.purchase_order_id = ${id} order by pl.line_no`.execute(db);
  const receipts = await sql<{ id: number; created_at: Date; units: number }>`
    select r.id, r.created_at, (select coalesce(sum(quantity), 0)::int from receipt_lines where receipt_id = r.id) as units
    from receipts r where r.purchase_order_id = ${id} order by r.id`.execute(db);
  // units on closed or cancelled orders are no longer expected
  const ended = po.status === "closed" || po.status === "cancelled" || po.status === "shipped";
  const { dropship, ...fields } = po;
  return {
    ...fields,
    number: poNumber(po.id),
    allowed_actions: allowedActions(po.status, dropship),
    total: lines.rows.reduce((s, l) => s + l.quantity * l.unit_cost, 0),
    submitted_at: po.submitted_at?.toISOString() ?? null,
    ended_at: po.ended_at?.toISOString() ?? null,
    created_at: po.created_at.toISOString(),
    lines: ended ? lines.rows.map((l) => ({ ...l, outstanding: 0 })) : lines.rows,
    dropship: dropship ? await dropshipPart(db, po.id) : null,
    receipts: receipts.rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() })),
  };
}

const isCursor = isId;

export async function listPurchaseOrders(
  db: DB,
  q: { status?: PurchaseOrderStatus; supplier?: string; location?: string; limit: number; cursor?: string },
): Promise<{ data: PurchaseOrderView[]; next_cursor: string | null }> {
  const before = decodeCursor(q.cursor, isCursor);
  const ids = await sql<{ id: number }>`
    select po.id from purchase_orders po
    join suppliers s on s.id = po.supplier_id left join locations l on l.id = po.location_id
    where true
      ${q.status ? sql`and po.status = ${q.status}` : sql``}
      ${q.supplier ? sql`and s.code = ${q.supplier}` : sql``}
      ${q.location ? sql`and l.code = ${q.location}` : sql``}
      ${before !== undefined ? sql`and po.id < ${before}` : sql``}
    order by po.id desc limit ${q.limit + 1}`.execute(db);
  const p = page(ids.rows, q.limit, (r) => r.id);
  const data: PurchaseOrderView[] = [];
  for (const r of p.data) data.push(await getPurchaseOrder(db, r.id));
  return { data, next_cursor: p.next_cursor };
}

export interface LockedOrder {
  id: number;
  status: PurchaseOrderStatus;
  supplier_id: number;
  supplier_active: boolean;
  location_id: number;
  /** a drop-ship order: no location, ships to the customer */
  dropship: boolean;
  currency: string;
  allow_over_receipt: boolean;
  lines: {
    line_no: number;
    variant_id: number;
    sku: string;
    quantity: number;
    unit_cost: number;
    received: number;
    allow_over_receipt: boolean;
  }[];
}

/** The order row locked for a state change, with its lines. */
export async function lockOrder(tx: Tx, id: number): Promise<LockedOrder> {
  const head = await sql<Omit<LockedOrder, "lines">>`
    select po.id, po.status, po.supplier_id, s.active as supplier_active, po.location_id,
      po.ship_to is not null as dropship, po.currency, po.allow_over_receipt
    from purchase_orders po join suppliers s on s.id = po.supplier_id
    where po.id = ${id} for update of po`.execute(tx);
  const po = head.rows[0];
  if (!po) throw new NotFound("purchase order", id);
  const lines = await sql<LockedOrder["lines"][number]>`
    select pl.line_no, pl.variant_id, v.sku, pl.quantity, pl.unit_cost, pl.received, pl.allow_over_receipt
    from purchase_order_lines pl join variants v on v.id = pl.variant_id
    where pl.purchase_order_id = ${id} order by pl.line_no`.execute(tx);
  return { ...po, lines: lines.rows };
}

export const outstandingOf = (line: { quantity: number; received: number }) =>
  Math.max(line.quantity - line.received, 0);
