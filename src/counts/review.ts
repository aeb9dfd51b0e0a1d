import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, ValidationFailed } from "../http/errors.js";
import { stockArrived } from "../inventory/arrivals.js";
import { changeStock } from "../inventory/stock.js";
import { unitCosts } from "../purchasing/costing.js";
import { assertCountTransition } from "./lifecycle.js";
import { type CountView, countReference, getCount, lockCount, recordCounts } from "./sessions.js";
import { countSettings } from "./settings.js";

/**
 * Submitting fixes each counted line's variance: counted − (expected at the
 * start + on_hand movements between the start and the moment it was counted,
 * the count's own postings aside), valued at unit cost. Lines beyond the
 * approval thresholds (units or value) wait for approval; without any, the
 * count is approved at once. Approval posts the differences as `count`
 * movements.
 */
export async function submitCount(
  tx: Tx,
  id: number,
  opts: { uncounted: "skip" | "zero" },
  actor: string,
): Promise<CountView> {
  const session = await lockCount(tx, id);
  assertCountTransition(session.status, "submit");
  if (opts.uncounted === "zero") {
    const missing = await sql<{ sku: string }>`
      select v.sku from count_lines cl join variants v on v.id = cl.variant_id
      where cl.count_id = ${id} and cl.counted is null order by v.sku`.execute(tx);
    if (missing.rows.length) {
      await recordCounts(
        tx,
        id,
        missing.rows.map((r) => ({ sku: r.sku, counted: 0 })),
        actor,
      );
    }
  }
  const lines = await sql<{ variant_id: number; corrected: number; counted: number }>`
    select cl.variant_id, cl.counted, cl.expected + coalesce((
        select sum(m.delta) from inventory_movements m
        where m.variant_id = cl.variant_id and m.location_id = ${session.location_id} and m.bucket = 'on_hand'
          and m.id > cl.snapshot_movement and m.id <= cl.counted_movement
          and m.reference is distinct from ${countReference(id)}), 0)::int as corrected
    from count_lines cl where cl.count_id = ${id} and cl.counted is not null`.execute(tx);
  if (lines.rows.length === 0) {
    throw new ValidationFailed([{ path: "body", message: `count ${id} has no counted line yet` }]);
  }
  const costs = await unitCosts(
    tx,
    lines.rows.map((l) => l.variant_id),
  );
  const limits = await countSettings(tx);
  const fixed = lines.rows.map((l) => {
    const variance = l.counted - l.corrected;
    const cost = costs.get(l.variant_id) ?? null;
    const value = cost === null ? 0 : Math.round(variance * cost);
    const needs = Math.abs(variance) > limits.approval_units || Math.abs(value) > limits.approval_value;
    return { ...l, variance, cost, value, needs };
  });
  const col = <K extends keyof (typeof fixed)[number]>(k: K) => fixed.map((f) => f[k]);
  await sql`
    update count_lines cl set corrected_expected = x.corrected, variance = x.variance, unit_cost = x.cost,
      variance_value = x.value, needs_approval = x.needs
    from unnest(${col("variant_id")}::bigint[], ${col("corrected")}::int[], ${col("variance")}::int[],
                ${col("cost")}::numeric[], ${col("value")}::bigint[], ${col("needs")}::bool[])
      as x(variant_id, corrected, variance, cost, value, needs)
    where cl.count_id = ${id} and cl.variant_id = x.variant_id`.execute(tx);
  await sql`update count_sessions set status = 'submitted', submitted_at = now(), updated_at = now()
            where id = ${id}`.execute(tx);
  await emit(tx, [{ type: "count.submitted", payload: await getCount(tx, id) }]);
  if (fixed.some((f) => f.needs)) return getCount(tx, id);
  return post(tx, id, session.location_id, "system:within_thresholds", actor);
}

export async function approveCount(tx: Tx, id: number, actor: string): Promise<CountView> {
  const session = await lockCount(tx, id);
  assertCountTransition(session.status, "approve");
  return post(tx, id, session.location_id, actor, actor);
}

export async function cancelCount(tx: Tx, id: number, actor: string): Promise<CountView> {
  const session = await lockCount(tx, id);
  assertCountTransition(session.status, "cancel");
  await sql`update count_sessions set status = 'cancelled', ended_at = now(), updated_at = now()
            where id = ${id}`.execute(tx);
  const view = await getCount(tx, id);
  await emit(tx, [{ type: "count.cancelled", payload: { ...view, actor } }]);
  return view;
}

/**
 * Posts every non-zero variance as a `count` movement of on_hand, all or
 * nothing. A variance that would take on_hand below what is reserved and
 * allocated is refused with the numbers, and nothing is posted.
 */
async function post(
  tx: Tx,
  id: number,
  locationId: number,
  approvedBy: string,
  actor: string,
): Promise<CountView> {
  const lines = await sql<{ variant_id: number; sku: string; variance: number }>`
    select cl.variant_id, v.sku, cl.variance from count_lines cl join variants v on v.id = cl.variant_id
    where cl.count_id = ${id} and cl.variance is not null and cl.variance <> 0 order by cl.variant_id`.execute(
    tx,
  );
  const result = await changeStock(
    tx,
    lines.rows.map((l) => ({
      variantId: l.variant_id,
      locationId,
      deltas: { on_hand: l.variance },
      reason: "count",
      reference: countReference(id),
    })),
    { actor, guardFree: false },
  );
  if (result.refused.length) {
    const refused = new Set(result.refused);
    const levels = await sql<{
      sku: string;
      variance: number;
      on_hand: number;
      reserved: number;
      allocated: number;
    }>`
      select v.sku, x.variance, coalesce(il.on_hand, 0) as on_hand, coalesce(il.reserved, 0) as reserved,
             coalesce(il.allocated, 0) as allocated
      from unnest(${lines.rows.map((l) => l.variant_id)}::bigint[], ${lines.rows.map((l) => l.variance)}::int[]) as x(variant_id, variance)
      join variants v on v.id = x.variant_id
      left join inventory_levels il on il.variant_id = x.variant_id and il.location_id = ${locationId}
      where (x.variant_id::text || ':' || ${locationId}::text) = any(${[...refused]}::text[])
      order by v.sku`.execute(tx);
    throw new Conflict(
      `count ${id} cannot be posted, nothing was changed: ${levels.rows
        .map(
          (l) =>
            `${l.sku}: on_hand ${l.on_hand} ${l.variance} = ${l.on_hand + l.variance} would be below ${l.reserved} reserved + ${l.allocated} allocated`,
        )
        .join("; ")}. Release or reallocate those units, or recount.`,
      { lines: levels.rows },
    );
  }
  await sql`update count_sessions set status = 'approved', approved_by = ${approvedBy}, ended_at = now(),
            updated_at = now() where id = ${id}`.execute(tx);
  const found = lines.rows.filter((l) => l.variance > 0);
  if (found.length)
    await stockArrived(
      tx,
      found.map((l) => ({ variantId: l.variant_id, locationId })),
    );
  const view = await getCount(tx, id);
  await emit(tx, [{ type: "count.approved", payload: view }]);
  return view;
}
