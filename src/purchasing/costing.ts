import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, NotFound } from "../http/errors.js";

/**
 * Moving-average unit cost per variant. Each receipt moves the average:
 *
 *   new_avg = (old_avg × old_qty + receipt_unit_cost × qty) / (old_qty + qty)
 *
 * where old_qty is on_hand across all locations just before the receipt and
 * receipt_unit_cost includes the line's share of freight and duty. With no
 * stock (or no average yet) the receipt's cost becomes the average.
 */
export function movingAverage(oldAvg: number | null, oldQty: number, unitCost: number, qty: number): number {
  if (oldAvg === null || oldQty <= 0) return unitCost;
  return (oldAvg * oldQty + unitCost * qty) / (oldQty + qty);
}

/**
 * Spreads `total` minor units over lines in proportion to their value
 * (quantity × unit cost), by largest remainder so the shares add up to
 * exactly `total`. Lines of no value share by quantity when every line is
 * worth nothing.
 */
export function spreadByValue(total: number, lines: { quantity: number; unitCost: number }[]): number[] {
  if (lines.length === 0 || total === 0) return lines.map(() => 0);
  let weights = lines.map((l) => l.quantity * l.unitCost);
  if (weights.every((w) => w === 0)) weights = lines.map((l) => l.quantity);
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => ({ i, frac: e - Math.floor(e) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    shares[i] += 1;
    left -= 1;
  }
  return shares;
}

export interface CostedLine {
  variantId: number;
  quantity: number;
  /** Unit cost including the landed share, possibly fractional. */
  unitCost: number;
}

/**
 * Applies a receipt's lines to the moving averages. Must run before the
 * receipt's units are booked, in the same transaction. Variants are locked in
 * id order (an advisory lock per variant), then on_hand is read, so two
 * receipts of one variant never compute from the same old quantity.
 */
export async function applyReceiptCosts(
  tx: Tx,
  receiptId: number,
  currency: string,
  lines: CostedLine[],
): Promise<Map<number, number>> {
  const byVariant = new Map<number, { quantity: number; value: number }>();
  for (const l of lines) {
    const m = byVariant.get(l.variantId) ?? { quantity: 0, value: 0 };
    m.quantity += l.quantity;
    m.value += l.unitCost * l.quantity;
    byVariant.set(l.variantId, m);
  }
  const ids = [...byVariant.keys()].sort((a, b) => a - b);
  if (ids.length === 0) return new Map();
  await sql`select pg_advisory_xact_lock(hashtextextended('variant_cost:' || id::text, 0))
            from unnest(${ids}::bigint[]) as id order by id`.execute(tx);
  const current = await sql<{
    id: number;
    avg_cost: number | null;
    currency: string | null;
    on_hand: number;
  }>`
    select v.id, c.avg_cost, c.currency,
           coalesce((select sum(il.on_hand) from inventory_levels il where il.variant_id = v.id), 0)::int as on_hand
    from unnest(${ids}::bigint[]) as v(id) left join variant_costs c on c.variant_id = v.id`.execute(tx);
  const result = new Map<number, number>();
  const changes: {
    variantId: number;
    oldAvg: number | null;
    oldQty: number;
    qty: number;
    unit: number;
    newAvg: number;
  }[] = [];
  for (const row of current.rows) {
    const m = byVariant.get(row.id)!;
    if (row.currency !== null && row.currency !== currency) {
      throw new Conflict(
        `variant ${row.id} is costed in ${row.currency}; a receipt in ${currency} cannot update its average`,
      );
    }
    const unit = m.value / m.quantity;
    const newAvg = movingAverage(row.avg_cost, row.on_hand, unit, m.quantity);
    result.set(row.id, newAvg);
    changes.push({
      variantId: row.id,
      oldAvg: row.avg_cost,
      oldQty: row.on_hand,
      qty: m.quantity,
      unit,
      newAvg,
    });
  }
  const col = <K extends keyof (typeof changes)[number]>(k: K) => changes.map((c) => c[k]);
  await sql`
    insert into variant_costs (variant_id, currency, avg_cost, on_hand_basis, last_receipt_id)
    select id, ${currency}, avg, basis, ${receiptId}
    from unnest(${col("variantId")}::bigint[], ${col("newAvg")}::numeric[], ${changes.map((c) => Math.max(c.oldQty, 0) + c.qty)}::int[])
      as x(id, avg, basis)
    on conflict (variant_id) do update set avg_cost = excluded.avg_cost, on_hand_basis = excluded.on_hand_basis,
      last_receipt_id = excluded.last_receipt_id, updated_at = now()`.execute(tx);
  await sql`
    insert into cost_changes (variant_id, receipt_id, old_avg, old_quantity, quantity, unit_cost, new_avg)
    select id, ${receiptId}, old_avg, old_qty, qty, unit, new_avg
    from unnest(${col("variantId")}::bigint[], ${col("oldAvg")}::numeric[], ${col("oldQty")}::int[],
                ${col("qty")}::int[], ${col("unit")}::numeric[], ${col("newAvg")}::numeric[])
      as x(id, old_avg, old_qty, qty, unit, new_avg)`.execute(tx);
  await emit(
    tx,
    changes.map((c) => ({
      type: "variant_cost.changed",
      payload: { variant_id: c.variantId, currency, avg_cost: c.newAvg, receipt_id: receiptId },
    })),
  );
  return result;
}

/** The unit cost used to value stock: moving average, else the catalogue's cost, else nothing. */
export async function unitCosts(db: DB | Tx, variantIds: number[]): Promise<Map<number, number | null>> {
  if (variantIds.length === 0) return new Map();
  const rows = await sql<{ id: number; cost: number | null }>`
    select v.id, coalesce(c.avg_cost, v.cost::numeric) as cost
    from variants v left join variant_costs c on c.variant_id = v.id
    where v.id = any(${variantIds}::bigint[])`.execute(db);
  return new Map(rows.rows.map((r) => [r.id, r.cost]));
}

export async function costOf(db: DB, sku: string) {
  const v = await db.selectFrom("variants").select(["id", "sku"]).where("sku", "=", sku).executeTakeFirst();
  if (!v) throw new NotFound("variant", sku);
  const c = await db
    .selectFrom("variant_costs")
    .selectAll()
    .where("variant_id", "=", v.id)
    .executeTakeFirst();
  const history = await db
    .selectFrom("cost_changes")
    .selectAll()
    .where("variant_id", "=", v.id)
    .orderBy("id", "desc")
    .limit(50)
    .execute();
  return {
    sku: v.sku,
    currency: c?.currency ?? null,
    avg_cost: c ? Math.round(c.avg_cost) : null,
    avg_cost_exact: c ? c.avg_cost : null,
    on_hand_basis: c?.on_hand_basis ?? null,
    history: history.map((h) => ({
      receipt_id: h.receipt_id,
      old_avg: h.old_avg,
      old_quantity: h.old_quantity,
      quantity: h.quantity,
      unit_cost: h.unit_cost,
      new_avg: h.new_avg,
      at: h.created_at.toISOString(),
    })),
  };
}

/** The currency a variant is costed in, if it has been received before. */
export async function costCurrencies(db: DB | Tx, variantIds: number[]): Promise<Map<number, string>> {
  if (variantIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("variant_costs")
    .select(["variant_id", "currency"])
    .where("variant_id", "in", variantIds)
    .execute();
  return new Map(rows.map((r) => [r.variant_id, r.currency]));
}
