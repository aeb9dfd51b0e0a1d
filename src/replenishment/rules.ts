import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { NotFound, ValidationFailed } from "../http/errors.js";
import { resolveLocations, resolveSkus } from "../inventory/refs.js";
import { resolveSupplier } from "../purchasing/suppliers.js";

/** Reorder rules per SKU × location: min/max, or reorder point + reorder quantity. */

export interface ReorderRuleRequest {
  sku: string;
  location: string;
  reorder_point: number;
  reorder_quantity?: number;
  max?: number;
  multiple?: number;
  supplier?: string;
}

export interface ReorderRuleView {
  id: number;
  sku: string;
  location: string;
  kind: "min_max" | "reorder_point";
  reorder_point: number;
  max: number | null;
  reorder_quantity: number | null;
  multiple: number | null;
  supplier: string | null;
  updated_at: string;
}

/** Creates or replaces the rule of one SKU at one location. Returns whether it was new. */
export async function saveReorderRule(
  tx: Tx,
  req: ReorderRuleRequest,
  actor: string,
): Promise<{ created: boolean; rule: ReorderRuleView }> {
  const item = (await resolveSkus(tx, [{ sku: req.sku, path: "body.sku" }])).get(req.sku)!;
  if (item.kind !== "physical") {
    throw new ValidationFailed([
      { path: "body.sku", message: `${req.sku} is a ${item.kind} product and has no stock to replenish` },
    ]);
  }
  const loc = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
    req.location,
  )!;
  const supplier = req.supplier ? await resolveSupplier(tx, req.supplier, "body.supplier") : undefined;
  const kind = req.max !== undefined ? "min_max" : "reorder_point";
  const row = await sql<{ id: number; created: boolean }>`
    insert into reorder_rules (variant_id, location_id, kind, reorder_point, max_quantity, reorder_quantity,
                               multiple, supplier_id, actor)
    values (${item.id}, ${loc.id}, ${kind}, ${req.reorder_point}, ${req.max ?? null}, ${req.reorder_quantity ?? null},
            ${req.multiple ?? null}, ${supplier?.id ?? null}, ${actor})
    on conflict (variant_id, location_id) do update set kind = excluded.kind,
      reorder_point = excluded.reorder_point, max_quantity = excluded.max_quantity,
      reorder_quantity = excluded.reorder_quantity, multiple = excluded.multiple,
      supplier_id = excluded.supplier_id, actor = excluded.actor, updated_at = now()
    returning id, (xmax = 0) as created`.execute(tx);
  const rule = (await listReorderRules(tx, { id: row.rows[0].id }))[0];
  await emit(tx, [{ type: "reorder_rule.saved", payload: rule }]);
  return { created: row.rows[0].created, rule };
}

export async function deleteReorderRule(tx: Tx, id: number): Promise<ReorderRuleView> {
  const [rule] = await listReorderRules(tx, { id });
  if (!rule) throw new NotFound("reorder rule", id);
  await tx.deleteFrom("reorder_rules").where("id", "=", id).execute();
  await emit(tx, [{ type: "reorder_rule.deleted", payload: rule }]);
  return rule;
}

export async function listReorderRules(
  db: DB | Tx,
  q: { id?: number; sku?: string; location?: string },
): Promise<ReorderRuleView[]> {
  const rows = await sql<Omit<ReorderRuleView, "updated_at"> & { updated_at: Date }>`
    select r.id, v.sku, l.code as location, r.kind, r.reorder_point, r.max_quantity as max, r.reorder_quantity,
      r.multiple, s.code as supplier, r.updated_at
    from reorder_rules r join variants v on v.id = r.variant_id join locations l on l.id = r.location_id
    left join suppliers s on s.id = r.supplier_id
    where true
      ${q.id !== undefined ? sql`and r.id = ${q.id}` : sql``}
      ${q.sku ? sql`and v.sku = ${q.sku}` : sql``}
      ${q.location ? sql`and l.code = ${q.location}` : sql``}
    order by l.code, v.sku`.execute(db);
  return rows.rows.map((r) => ({ ...r, updated_at: r.updated_at.toISOString() }));
}
