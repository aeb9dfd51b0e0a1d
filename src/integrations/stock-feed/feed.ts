import { sql } from "kysely";
import { findLocationsByCode, findVariantsBySku } from "../../catalog/lookup.js";
import type { Tx } from "../../db/tx.js";
import { ValidationFailed } from "../../http/errors.js";
import { stockArrived } from "../../inventory/arrivals.js";
import { changeStock, levelKey, type StockChange } from "../../inventory/stock.js";
import { recordFailure, resolveFailure } from "../monitor/failures.js";
import "../../db/schema-stockfeed.js";

/**
 * ERP/WMS stock feed: absolute on-hand per SKU × location as of a moment.
 *
 * Rules, per SKU × location (not per source: two systems reporting the same
 * shelf must not overwrite each other out of order):
 * - as_of older than the last applied one → `stale`, nothing changes;
 * - as_of equal to the last applied one → a retry: `unchanged` (when the value
 *   differs it is a conflicting report for the same instant: first one wins,
 *   counted `stale`);
 * - otherwise on_hand becomes the reported value through changeStock (one
 *   statement, one ledger movement per change, reason `sync`, the source as
 *   reference); reserved and allocated are never touched. A value below
 *   reserved + allocated is applied down to reserved + allocated (the ledger
 *   invariant on_hand ≥ reserved + allocated holds) and reported in
 *   `short`, with an integration failure, never silently clamped.
 * Unknown SKUs/locations (and SKUs without own stock: digital, bundles) are
 * listed in `unknown`, recorded as failures, and do not fail the batch.
 */

export const MAX_LEVELS = 5000;

export interface FeedLevel {
  sku: string;
  location: string;
  on_hand: number;
}

export interface FeedRequest {
  source: string;
  as_of: string;
  levels: FeedLevel[];
}

export interface FeedResult {
  applied: number;
  unchanged: number;
  stale: number;
  unknown: { sku: string; location: string; reason: string }[];
  short: { sku: string; location: string; requested: number; on_hand: number; committed: number }[];
}

interface Resolved extends FeedLevel {
  variantId: number;
  locationId: number;
}

const subject = (l: { sku: string; location: string }) => `${l.sku}@${l.location}`;

export async function applyStockFeed(tx: Tx, req: FeedRequest, actor: string): Promise<FeedResult> {
  if (req.levels.length > MAX_LEVELS) {
    throw new ValidationFailed([
      { path: "body.levels", message: `at most ${MAX_LEVELS} levels per batch; split the feed` },
    ]);
  }
  const seen = new Set<string>();
  const dupes: { path: string; message: string }[] = [];
  req.levels.forEach((l, i) => {
    const k = subject(l);
    if (seen.has(k)) dupes.push({ path: `body.levels.${i}`, message: `${k} appears more than once` });
    seen.add(k);
  });
  if (dupes.length) throw new ValidationFailed(dupes);
  const asOf = new Date(req.as_of);

  const result: FeedResult = { applied: 0, unchanged: 0, stale: 0, unknown: [], short: [] };
  const variants = await findVariantsBySku(tx, [...new Set(req.levels.map((l) => l.sku))]);
  const locations = await findLocationsByCode(tx, [...new Set(req.levels.map((l) => l.location))]);
  const known: Resolved[] = [];
  for (const l of req.levels) {
    const v = variants.get(l.sku);
    const loc = locations.get(l.location);
    const reason = !v
      ? "unknown sku"
      : !loc
        ? "unknown location"
        : v.kind !== "physical"
          ? `${v.kind} product has no stock of its own`
          : null;
    if (reason || !v || !loc) {
      result.unknown.push({ sku: l.sku, location: l.location, reason: reason ?? "unknown" });
      continue;
    }
    known.push({ ...l, variantId: v.id, locationId: loc.id });
  }
  for (const u of result.unknown) {
    await recordFailure(tx, {
      source: "stock-feed",
      operation: "apply_level",
      subject: subject(u),
      error: `${req.source}: ${u.reason}`,
      detail: { source: req.source, as_of: req.as_of, sku: u.sku, location: u.location },
    });
  }
  if (known.length === 0) return result;

  // Lock order: feed state rows, then level rows, both by (variant, location) —
  // the order changeStock and every other writer of inventory_levels uses.
  known.sort((a, b) => a.variantId - b.variantId || a.locationId - b.locationId);
  const vIds = known.map((k) => k.variantId);
  const lIds = known.map((k) => k.locationId);
  const keys = sql`select * from unnest(${vIds}::bigint[], ${lIds}::bigint[]) as k(variant_id, location_id)`;
  await sql`
    insert into stock_feed_state (variant_id, location_id, source, last_as_of, last_on_hand)
    select k.variant_id, k.location_id, '', '-infinity', -1 from (${keys}) k
    order by k.variant_id, k.location_id
    on conflict do nothing`.execute(tx);
  const states = await sql<{
    variant_id: number;
    location_id: number;
    last_as_of: Date;
    last_on_hand: number;
  }>`
    select s.variant_id, s.location_id, s.last_as_of, s.last_on_hand from stock_feed_state s
    join (${keys}) k using (variant_id, location_id)
    order by s.variant_id, s.location_id for update of s`.execute(tx);
  const levels = await sql<{ variant_id: number; location_id: number; on_hand: number; committed: number }>`
    select l.variant_id, l.location_id, l.on_hand, l.reserved + l.allocated as committed
    from inventory_levels l join (${keys}) k using (variant_id, location_id)
    order by l.variant_id, l.location_id for update of l`.execute(tx);
  const state = new Map(states.rows.map((s) => [levelKey(s.variant_id, s.location_id), s]));
  const level = new Map(levels.rows.map((l) => [levelKey(l.variant_id, l.location_id), l]));

  const changes: StockChange[] = [];
  const accepted: Resolved[] = [];
  for (const k of known) {
    const key = levelKey(k.variantId, k.locationId);
    const s = state.get(key)!;
    const last = new Date(s.last_as_of).getTime();
    if (asOf.getTime() < last || (asOf.getTime() === last && s.last_on_hand !== k.on_hand)) {
      result.stale++;
      continue;
    }
    accepted.push(k);
    const current = level.get(key) ?? { on_hand: 0, committed: 0 };
    const target = Math.max(k.on_hand, current.committed);
    if (target !== k.on_hand) {
      result.short.push({
        sku: k.sku,
        location: k.location,
        requested: k.on_hand,
        on_hand: target,
        committed: current.committed,
      });
    }
    if (target === current.on_hand) {
      result.unchanged++;
      continue;
    }
    result.applied++;
    changes.push({
      variantId: k.variantId,
      locationId: k.locationId,
      deltas: { on_hand: target - current.on_hand },
      reason: "sync",
      reference: req.source,
      note: `as of ${asOf.toISOString()}`,
    });
  }

  if (changes.length) {
    const done = await changeStock(tx, changes, { actor, guardFree: false, refusedOnly: true });
    // Rows were locked and targets kept ≥ reserved + allocated, so nothing can be refused.
    if (done.refused.length) throw new Error(`stock feed: changeStock refused ${done.refused.join(", ")}`);
    const up = changes.filter((c) => (c.deltas.on_hand ?? 0) > 0);
    await stockArrived(
      tx,
      up.map((c) => ({ variantId: c.variantId, locationId: c.locationId })),
    );
  }
  if (accepted.length) {
    await sql`
      update stock_feed_state s set source = ${req.source}, last_as_of = ${asOf}, last_on_hand = k.on_hand,
        updated_at = now()
      from unnest(${accepted.map((a) => a.variantId)}::bigint[], ${accepted.map((a) => a.locationId)}::bigint[],
                  ${accepted.map((a) => a.on_hand)}::int[]) as k(variant_id, location_id, on_hand)
      where s.variant_id = k.variant_id and s.location_id = k.location_id`.execute(tx);
  }
  const shortKeys = new Set(result.short.map(subject));
  for (const s of result.short) {
    await recordFailure(tx, {
      source: "stock-feed",
      operation: "apply_level",
      subject: subject(s),
      error: `${req.source} reported on_hand ${s.requested}, but ${s.committed} units are reserved or allocated; on_hand set to ${s.on_hand}`,
      detail: { source: req.source, as_of: req.as_of, ...s },
    });
  }
  // A later report that applied cleanly resolves that pair's open failure (looked up once, not per row).
  const clean = accepted.map(subject).filter((k) => !shortKeys.has(k));
  if (clean.length) {
    const open = await sql<{ subject: string }>`
      select subject from integration_failures
      where source = 'stock-feed' and operation = 'apply_level' and status = 'open' and subject = any(${clean})`.execute(
      tx,
    );
    for (const o of open.rows) {
      await resolveFailure(tx, { source: "stock-feed", operation: "apply_level", subject: o.subject });
    }
  }
  return result;
}
