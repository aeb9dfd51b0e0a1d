import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { CountStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, NotFound, ValidationFailed } from "../http/errors.js";
import { resolveLocations, resolveSkus } from "../inventory/refs.js";
import { type AbcClass, abcClasses } from "./abc.js";
import { ABC_DEFAULT_DAYS, ABC_MAX_AGE_MS, storedAbcClasses } from "./abc-rollup.js";
import { assertCountTransition, countActions } from "./lifecycle.js";
import { readLedgerPosition } from "./snapshot.js";

/** Cycle count sessions: starting one (expected quantities snapshotted), recording what was counted, reading it. */

export interface StartCountRequest {
  location: string;
  skus?: string[];
  abc_class?: AbcClass;
  blind?: boolean;
  note?: string;
}

export interface CountLineView {
  sku: string;
  /** null while a blind count is open */
  expected: number | null;
  counted: number | null;
  counted_at: string | null;
  movements_during_count: number | null;
  corrected_expected: number | null;
  variance: number | null;
  variance_value: number | null;
  needs_approval: boolean;
}

export interface CountView {
  id: number;
  location: string;
  status: CountStatus;
  allowed_actions: string[];
  scope: "all" | "skus" | "abc";
  abc_class: AbcClass | null;
  blind: boolean;
  note: string | null;
  created_at: string;
  submitted_at: string | null;
  approved_by: string | null;
  ended_at: string | null;
  summary: { lines: number; counted: number; with_variance: number; needing_approval: number };
  lines: CountLineView[];
}

export const countReference = (id: number) => `count:${id}`;

export async function startCount(tx: Tx, req: StartCountRequest, actor: string): Promise<CountView> {
  const loc = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
    req.location,
  )!;
  let variantIds: number[];
  let scope: "all" | "skus" | "abc" = "all";
  if (req.skus) {
    scope = "skus";
    const dup = req.skus.findIndex((s, i) => req.skus!.indexOf(s) !== i);
    if (dup >= 0) throw new ValidationFailed([{ path: `body.skus.${dup}`, message: "listed twice" }]);
    const items = await resolveSkus(
      tx,
      req.skus.map((sku, i) => ({ sku, path: `body.skus.${i}` })),
    );
    const bad = req.skus.findIndex((s) => items.get(s)!.kind !== "physical");
    if (bad >= 0) {
      throw new ValidationFailed([
        { path: `body.skus.${bad}`, message: "only physical products are counted" },
      ]);
    }
    variantIds = req.skus.map((s) => items.get(s)!.id);
  } else if (req.abc_class) {
    scope = "abc";
    // the classes the report shows (kept by the background job), else classified now
    const stored = await storedAbcClasses(tx, loc.id, ABC_DEFAULT_DAYS, ABC_MAX_AGE_MS);
    variantIds = (stored?.rows ?? (await abcClasses(tx, loc.id, ABC_DEFAULT_DAYS)))
      .filter((r) => r.class === req.abc_class)
      .map((r) => r.variant_id);
  } else {
    const rows = await sql<{ id: number }>`
      select il.variant_id as id from inventory_levels il join variants v on v.id = il.variant_id
      where il.location_id = ${loc.id} and v.kind = 'physical' order by 1`.execute(tx);
    variantIds = rows.rows.map((r) => r.id);
  }
  if (variantIds.length === 0) {
    throw new ValidationFailed([
      { path: "body", message: `nothing to count at ${req.location} in this scope` },
    ]);
  }
  await refuseOverlap(tx, loc.id, variantIds);
  const snapshot = await readLedgerPosition(tx, loc.id, variantIds);
  const session = await tx
    .insertInto("count_sessions")
    .values({
      location_id: loc.id,
      scope,
      abc_class: scope === "abc" ? req.abc_class! : null,
      blind: req.blind ?? false,
      note: req.note ?? null,
      actor,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx
    .insertInto("count_lines")
    .values(
      [...snapshot].map(([variantId, s]) => ({
        count_id: session.id,
        variant_id: variantId,
        expected: s.onHand,
        snapshot_movement: s.lastMovement,
      })),
    )
    .execute();
  const view = await getCount(tx, session.id);
  // the event carries what the API shows: a blind count's expected quantities stay hidden
  await emit(tx, [{ type: "count.started", payload: view }]);
  return view;
}

/** One SKU is in at most one unfinished count per location, so no difference is posted twice. */
async function refuseOverlap(tx: Tx, locationId: number, variantIds: number[]): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended('count_location:' || ${locationId}::text, 0))`.execute(
    tx,
  );
  const busy = await sql<{ sku: string; count_id: number }>`
    select v.sku, cl.count_id from count_lines cl join count_sessions cs on cs.id = cl.count_id
    join variants v on v.id = cl.variant_id
    where cs.location_id = ${locationId} and cs.status in ('open', 'submitted')
      and cl.variant_id = any(${variantIds}::bigint[])
    order by v.sku limit 10`.execute(tx);
  if (busy.rows.length) {
    throw new Conflict(
      `already being counted: ${busy.rows.map((b) => `${b.sku} (count ${b.count_id})`).join(", ")}`,
      { skus: busy.rows.map((b) => b.sku) },
    );
  }
}

export async function lockCount(
  tx: Tx,
  id: number,
): Promise<{ id: number; location_id: number; status: CountStatus; scope: string }> {
  const row = await sql<{ id: number; location_id: number; status: CountStatus; scope: string }>`
    select id, location_id, status, scope from count_sessions where id = ${id} for update`.execute(tx);
  if (!row.rows[0]) throw new NotFound("count", id);
  return row.rows[0];
}

/**
 * Records counted quantities (a recount replaces the earlier one). The ledger
 * position is noted with each, so movements between the start and the
 * moment of counting correct the expected quantity. In a count of the whole
 * location, a SKU found that was not expected is added with expected 0.
 */
export async function recordCounts(
  tx: Tx,
  id: number,
  lines: { sku: string; counted: number }[],
  actor: string,
): Promise<CountView> {
  const session = await lockCount(tx, id);
  assertCountTransition(session.status, "record");
  const dup = lines.findIndex((l, i) => lines.findIndex((m) => m.sku === l.sku) !== i);
  if (dup >= 0) throw new ValidationFailed([{ path: `body.lines.${dup}.sku`, message: "listed twice" }]);
  const items = await resolveSkus(
    tx,
    lines.map((l, i) => ({ sku: l.sku, path: `body.lines.${i}.sku` })),
  );
  const existing = new Set(
    (await tx.selectFrom("count_lines").select("variant_id").where("count_id", "=", id).execute()).map(
      (r) => r.variant_id,
    ),
  );
  const errors = lines.flatMap((l, i) => {
    const item = items.get(l.sku)!;
    if (item.kind !== "physical")
      return [{ path: `body.lines.${i}.sku`, message: "only physical products are counted" }];
    if (!existing.has(item.id) && session.scope !== "all") {
      return [{ path: `body.lines.${i}.sku`, message: `${l.sku} is not in count ${id}` }];
    }
    return [];
  });
  if (errors.length) throw new ValidationFailed(errors);
  const ids = lines.map((l) => items.get(l.sku)!.id);
  const added = ids.filter((v) => !existing.has(v));
  if (added.length) await refuseOverlap(tx, session.location_id, added);
  const position = await readLedgerPosition(tx, session.location_id, ids);
  if (added.length) {
    // found where nothing was expected: snapshotted now, at what the ledger holds now
    await tx
      .insertInto("count_lines")
      .values(
        added.map((v) => ({
          count_id: id,
          variant_id: v,
          expected: position.get(v)!.onHand,
          snapshot_movement: position.get(v)!.lastMovement,
        })),
      )
      .execute();
  }
  await sql`
    update count_lines cl set counted = x.counted, counted_movement = x.pos, counted_at = now()
    from unnest(${ids}::bigint[], ${lines.map((l) => l.counted)}::int[], ${ids.map((v) => position.get(v)!.lastMovement)}::bigint[])
      as x(variant_id, counted, pos)
    where cl.count_id = ${id} and cl.variant_id = x.variant_id`.execute(tx);
  await sql`update count_sessions set updated_at = now() where id = ${id}`.execute(tx);
  await emit(tx, [{ type: "count.recorded", payload: { id, actor, lines } }]);
  return getCount(tx, id);
}

/**
 * A count with its lines. Movements during the count and the variance are
 * computed live for lines counted but not yet submitted. While a blind count
 * is open, expected quantities and everything derived from them are hidden.
 */
export async function getCount(db: DB | Tx, id: number): Promise<CountView> {
  const head = await sql<
    Omit<CountView, "allowed_actions" | "summary" | "lines"> & {
      created_at: Date;
      submitted_at: Date | null;
      ended_at: Date | null;
    }
  >`
    select cs.id, l.code as location, cs.status, cs.scope, cs.abc_class, cs.blind, cs.note, cs.created_at,
      cs.submitted_at, cs.approved_by, cs.ended_at
    from count_sessions cs join locations l on l.id = cs.location_id where cs.id = ${id}`.execute(db);
  const s = head.rows[0];
  if (!s) throw new NotFound("count", id);
  const lines = await sql<CountLineView>`
    select v.sku, cl.expected, cl.counted, cl.counted_at, cl.needs_approval,
      d.moved as movements_during_count,
      coalesce(cl.corrected_expected, cl.expected + d.moved) as corrected_expected,
      coalesce(cl.variance, cl.counted - (cl.expected + d.moved)) as variance,
      cl.variance_value
    from count_lines cl join count_sessions cs on cs.id = cl.count_id join variants v on v.id = cl.variant_id
    left join lateral (
      select case when cl.counted is null then null else coalesce(sum(m.delta), 0)::int end as moved
      from inventory_movements m
      where cl.counted is not null and m.variant_id = cl.variant_id and m.location_id = cs.location_id
        and m.bucket = 'on_hand' and m.id > cl.snapshot_movement and m.id <= cl.counted_movement
        and m.reference is distinct from ${countReference(id)}
    ) d on true
    where cl.count_id = ${id} order by v.sku`.execute(db);
  const hide = s.blind && s.status === "open";
  const view = lines.rows.map((l) => ({
    ...l,
    counted_at: l.counted_at ? new Date(l.counted_at).toISOString() : null,
    ...(hide
      ? {
          expected: null,
          movements_during_count: null,
          corrected_expected: null,
          variance: null,
          variance_value: null,
        }
      : {}),
  }));
  return {
    ...s,
    allowed_actions: countActions(s.status),
    created_at: s.created_at.toISOString(),
    submitted_at: s.submitted_at?.toISOString() ?? null,
    ended_at: s.ended_at?.toISOString() ?? null,
    summary: {
      lines: view.length,
      counted: lines.rows.filter((l) => l.counted !== null).length,
      with_variance: hide ? 0 : lines.rows.filter((l) => (l.variance ?? 0) !== 0).length,
      needing_approval: lines.rows.filter((l) => l.needs_approval).length,
    },
    lines: view,
  };
}

export async function listCounts(
  db: DB,
  q: { location?: string; status?: CountStatus },
): Promise<Omit<CountView, "lines">[]> {
  const ids = await sql<{ id: number }>`
    select cs.id from count_sessions cs join locations l on l.id = cs.location_id
    where true ${q.location ? sql`and l.code = ${q.location}` : sql``}
      ${q.status ? sql`and cs.status = ${q.status}` : sql``}
    order by cs.id desc limit 200`.execute(db);
  const out: Omit<CountView, "lines">[] = [];
  for (const r of ids.rows) {
    const { lines: _lines, ...rest } = await getCount(db, r.id);
    out.push(rest);
  }
  return out;
}
