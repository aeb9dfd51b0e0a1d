import { sql } from "kysely";
import { approveCount } from "../counts/review.js";
import type { Tx } from "../db/tx.js";
import { adjustStock } from "../inventory/adjustments.js";
import { movementView } from "../inventory/routes.js";
import { unitCosts } from "../purchasing/costing.js";
import { type ApprovalKind, above } from "./kind.js";

/** POST /v1/inventory/adjustments, as the route validated it. */
export interface AdjustmentPayload {
  sku: string;
  location: string;
  delta?: number;
  set?: number;
  bucket?: "on_hand" | "quarantine" | "damaged" | "safety_stock";
  reason: string;
  reference?: string;
  note?: string;
}

/** Buckets that hold stock worth something; safety stock is a number, not units. */
const VALUED = ["on_hand", "quarantine", "damaged"] as const;

async function target(tx: Tx, p: AdjustmentPayload) {
  const row = await sql<{ variant_id: number; location_id: number }>`
    select v.id as variant_id, l.id as location_id from variants v, locations l
    where v.sku = ${p.sku} and l.code = ${p.location}`.execute(tx);
  return row.rows[0];
}

async function bucketNow(tx: Tx, variantId: number, locationId: number, bucket: string): Promise<number> {
  const column = VALUED.find((b) => b === bucket) ?? "on_hand";
  const row = await sql<{ n: number }>`
    select ${sql.ref(column)} as n from inventory_levels
    where variant_id = ${variantId} and location_id = ${locationId} for update`.execute(tx);
  return Number(row.rows[0]?.n ?? 0);
}

/**
 * A manual adjustment whose value at cost (units changed × moving-average
 * cost, else the variant's cost) is above the threshold. A `set` is checked
 * against the bucket as it was when asked: if it moved meanwhile, the set
 * would mean something else, so the approval fails as stale. A delta is
 * re-validated by the adjustment itself. Unknown SKUs and locations are left
 * to the adjustment to refuse; an uncosted variant has no value to compare.
 */
export const stockAdjustment: ApprovalKind<AdjustmentPayload> = {
  async evaluate(tx, p, policy) {
    const bucket = p.bucket ?? "on_hand";
    if (bucket === "safety_stock") return null;
    const t = await target(tx, p);
    if (!t) return null;
    const cost = (await unitCosts(tx, [t.variant_id])).get(t.variant_id);
    if (cost === null || cost === undefined) return null;
    const current = p.set === undefined ? null : await bucketNow(tx, t.variant_id, t.location_id, bucket);
    const units = p.set === undefined ? Math.abs(p.delta ?? 0) : Math.abs(p.set - (current ?? 0));
    const value = Math.round(units * Number(cost));
    if (!above(value, policy)) return null;
    const change = p.set === undefined ? `by ${p.delta}` : `to ${p.set} (now ${current})`;
    return {
      summary: `adjust ${bucket} of ${p.sku} at ${p.location} ${change}: ${units} units worth ${value} at cost`,
      facts: { units, unit_cost: Number(cost), value, threshold: policy.threshold },
      entityType: "inventory",
      entityId: `${p.sku}@${p.location}`,
      snapshot: current === null ? null : { [bucket]: current },
    };
  },
  async snapshot(tx, p) {
    if (p.set === undefined) return null;
    const bucket = p.bucket ?? "on_hand";
    const t = await target(tx, p);
    return t ? { [bucket]: await bucketNow(tx, t.variant_id, t.location_id, bucket) } : null;
  },
  async execute(tx, p, ctx) {
    const movements = await adjustStock(tx, p, ctx.actor);
    return { status: 201, body: { movements: movements.map(movementView(p.sku, p.location)) } };
  },
};

/** POST /v1/counts/{id}/approve. */
export interface CountPayload {
  id: number;
}

async function countState(tx: Tx, id: number) {
  const row = await sql<{ status: string; value: string; lines: number }>`
    select s.status, coalesce((select sum(abs(cl.variance_value)) from count_lines cl
                               where cl.count_id = s.id), 0)::bigint::text as value,
      (select count(*) from count_lines cl where cl.count_id = s.id and cl.variance <> 0)::int as lines
    from count_sessions s where s.id = ${id} for update`.execute(tx);
  const r = row.rows[0];
  return r ? { status: r.status, value: Number(r.value), lines: r.lines } : null;
}

/**
 * Approving a submitted count whose variances add up (either way, at unit
 * cost) to more than the threshold. Re-checked at execution: still
 * submitted, the same variances.
 */
export const countVariance: ApprovalKind<CountPayload> = {
  async evaluate(tx, p, policy) {
    const state = await countState(tx, p.id);
    if (state?.status !== "submitted" || !above(state.value, policy)) return null;
    return {
      summary: `approve count ${p.id}: ${state.lines} lines differ, worth ${state.value} at cost in all`,
      facts: { value: state.value, lines: state.lines, threshold: policy.threshold },
      entityType: "counts",
      entityId: String(p.id),
      snapshot: state,
    };
  },
  snapshot: (tx, p) => countState(tx, p.id),
  async execute(tx, p, ctx) {
    return { status: 200, body: await approveCount(tx, p.id, ctx.actor) };
  },
};
