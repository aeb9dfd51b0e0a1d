import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { ReservationStatus } from "../db/schema.js";
import { inTransaction, type Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { InvalidTransition, NotFound, ValidationFailed } from "../http/errors.js";
import { holdStock, releaseHolds } from "./holds.js";
import type { Demand, Hold } from "./plan.js";
import { allLocations, resolveLocations, resolveSkus } from "./refs.js";
import { changeStock } from "./stock.js";

export interface ReserveRequest {
  lines: { sku: string; quantity: number; location?: string }[];
  ttl_seconds?: number;
  reference?: string;
}

export interface ReservationView {
  id: number;
  status: ReservationStatus;
  reference: string | null;
  expires_at: string | null;
  created_at: string;
  lines: {
    sku: string;
    location: string | null;
    quantity: number;
    components?: { sku: string; quantity: number }[];
  }[];
}

export const DEFAULT_TTL_SECONDS = 15 * 60;

/** Turns request lines into demands: SKUs and locations resolved, bundles expanded by the planner. */
export async function demandsFor(
  tx: Tx | DB,
  lines: ReserveRequest["lines"],
  prefix = "body.lines",
): Promise<Demand[]> {
  const items = await resolveSkus(
    tx,
    lines.map((l, i) => ({ sku: l.sku, path: `${prefix}.${i}.sku` })),
  );
  const codes = lines.flatMap((l, i) =>
    l.location ? [{ code: l.location, path: `${prefix}.${i}.location` }] : [],
  );
  const locs = await resolveLocations(tx, codes);
  const inactive = lines.flatMap((l, i) =>
    items.get(l.sku)!.status === "active"
      ? []
      : [
          {
            path: `${prefix}.${i}.sku`,
            message: `${l.sku} is not on sale (product ${items.get(l.sku)!.status})`,
          },
        ],
  );
  if (inactive.length) throw new ValidationFailed(inactive);
  return lines.map((l, i) => ({
    index: i,
    item: items.get(l.sku)!,
    quantity: l.quantity,
    location: l.location ? locs.get(l.location) : undefined,
  }));
}

/**
 * Reserves every line or nothing (409 insufficient_stock). A reservation
 * expires after its TTL unless released or consumed first.
 */
export async function reserveStock(tx: Tx, req: ReserveRequest, actor: string): Promise<ReservationView> {
  const demands = await demandsFor(tx, req.lines);
  const locations = await allLocations(tx);
  const ttl = req.ttl_seconds ?? DEFAULT_TTL_SECONDS;
  const created = await tx
    .insertInto("reservations")
    .values({ reference: req.reference ?? null, actor, expires_at: new Date(Date.now() + ttl * 1000) })
    .returning(["id"])
    .executeTakeFirstOrThrow();
  const holds = await holdStock(tx, demands, {
    actor,
    reason: "reservation",
    reference: `reservation:${created.id}`,
    bucket: "reserved",
    locations,
  });
  await recordLines(tx, created.id, holds);
  const view = await getReservation(tx, created.id);
  await emit(tx, [{ type: "reservation.created", payload: view }]);
  return view;
}

async function recordLines(tx: Tx, reservationId: number, holds: Hold[]): Promise<void> {
  if (holds.length === 0) return;
  await tx
    .insertInto("reservation_lines")
    .values(
      holds.map((h, i) => ({
        reservation_id: reservationId,
        line_no: i + 1,
        variant_id: h.variantId,
        location_id: h.locationId,
        quantity: h.quantity,
        bundle_variant_id: h.bundleVariantId,
      })),
    )
    .execute();
}

export async function getReservation(db: Tx | DB, id: number): Promise<ReservationView> {
  const r = await db.selectFrom("reservations").selectAll().where("id", "=", id).executeTakeFirst();
  if (!r) throw new NotFound("reservation", id);
  const lines = await sql<{ sku: string; location: string; quantity: number; bundle_sku: string | null }>`
    select v.sku, l.code as location, rl.quantity, b.sku as bundle_sku
    from reservation_lines rl join variants v on v.id = rl.variant_id join locations l on l.id = rl.location_id
    left join variants b on b.id = rl.bundle_variant_id
    where rl.reservation_id = ${id} order by rl.line_no`.execute(db);
  return {
    id: r.id,
    status: r.status,
    reference: r.reference,
    expires_at: r.expires_at ? r.expires_at.toISOString() : null,
    created_at: new Date(r.created_at).toISOString(),
    lines: lines.rows.map((l) => ({
      sku: l.bundle_sku ?? l.sku,
      location: l.location,
      quantity: l.quantity,
      ...(l.bundle_sku ? { components: [{ sku: l.sku, quantity: l.quantity }] } : {}),
    })),
  };
}

type Ending = "released" | "consumed";

/**
 * Ends an active reservation with one conditional update, so two callers can
 * never both end it; released and expired holds go back to free stock.
 */
async function endReservation(tx: Tx, id: number, ending: Ending, actor: string): Promise<boolean> {
  const ended = await sql<{ id: number }>`
    update reservations set status = ${ending}, ended_at = now()
    where id = ${id} and status = 'active' returning id`.execute(tx);
  if (ended.rows.length === 0) return false;
  if (ending !== "consumed") {
    const lines = await tx
      .selectFrom("reservation_lines")
      .select(["variant_id as variantId", "location_id as locationId", "quantity"])
      .where("reservation_id", "=", id)
      .execute();
    await releaseHolds(tx, lines, {
      actor,
      reason: "release",
      reference: `reservation:${id}`,
      bucket: "reserved",
    });
  }
  return true;
}

/** DELETE semantics: releasing twice is fine; a consumed reservation belongs to an order now. */
export async function releaseReservation(tx: Tx, id: number, actor: string): Promise<ReservationView> {
  if (await endReservation(tx, id, "released", actor)) {
    const view = await getReservation(tx, id);
    await emit(tx, [{ type: "reservation.released", payload: view }]);
    return view;
  }
  const view = await getReservation(tx, id);
  if (view.status === "consumed") {
    throw new InvalidTransition(
      "reservation",
      "consumed",
      "be released",
      [],
      "The reservation was consumed by an order; cancel the order instead",
    );
  }
  return view;
}

/**
 * Hands an active reservation's units to the caller (an order): the units stay
 * in `reserved` and the caller records them as its own hold. Returns the holds.
 */
export async function consumeReservation(tx: Tx, id: number, actor: string): Promise<Hold[]> {
  if (!(await endReservation(tx, id, "consumed", actor))) {
    const view = await getReservation(tx, id);
    throw new InvalidTransition(
      "reservation",
      view.status,
      "be consumed",
      [],
      `Reservation ${id} is ${view.status}`,
    );
  }
  const lines = await tx
    .selectFrom("reservation_lines")
    .select(["variant_id", "location_id", "quantity", "bundle_variant_id"])
    .where("reservation_id", "=", id)
    .orderBy("line_no")
    .execute();
  await emit(tx, [{ type: "reservation.consumed", payload: { id } }]);
  return lines.map((l, i) => ({
    index: i,
    variantId: l.variant_id,
    locationId: l.location_id,
    quantity: l.quantity,
    bundleVariantId: l.bundle_variant_id,
    units: l.quantity,
  }));
}

/**
 * Expires overdue reservations, a batch at a time. Rows are claimed with SKIP
 * LOCKED, so several processes can sweep at once and a reservation being
 * released right now is left to that release. The whole batch goes back to
 * stock in one statement, so its row locks are taken in the fixed order too.
 */
export async function expireReservations(db: DB, opts: { batch?: number; now?: Date } = {}): Promise<number> {
  return inTransaction(db, async (tx) => {
    const due = await sql<{ id: number }>`
      update reservations r set status = 'expired', ended_at = now()
      where r.id in (select id from reservations
                     where status = 'active' and expires_at <= ${opts.now ?? new Date()}
                     order by expires_at limit ${opts.batch ?? 200} for update skip locked)
      returning r.id`.execute(tx);
    if (due.rows.length === 0) return 0;
    const ids = due.rows.map((r) => r.id);
    const lines = await tx
      .selectFrom("reservation_lines")
      .select(["reservation_id", "variant_id", "location_id", "quantity"])
      .where("reservation_id", "in", ids)
      .execute();
    const result = await changeStock(
      tx,
      lines.map((l) => ({
        variantId: l.variant_id,
        locationId: l.location_id,
        deltas: { reserved: -l.quantity },
        reason: "expiry",
        reference: `reservation:${l.reservation_id}`,
      })),
      { actor: "system:sweeper", guardFree: false },
    );
    if (result.refused.length) throw new Error(`expiry refused for ${result.refused.join(", ")}`);
    await emit(
      tx,
      ids.map((id) => ({ type: "reservation.expired", payload: { id } })),
    );
    return ids.length;
  });
}
