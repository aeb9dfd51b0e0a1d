import { type Selectable, sql } from "kysely";
import type { LocationsTable } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, NotFound } from "../http/errors.js";
import { decodeCursor, page } from "../http/pagination.js";
import type { Queryable } from "./lookup.js";
import type { Location } from "./responses.js";
import type { CreateLocationInput, UpdateLocationInput } from "./schema.js";

/** Locations: warehouses, stores and 3PLs that hold stock. Lower priority = preferred. */

export function toLocation(row: Selectable<LocationsTable>): Location {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    kind: row.kind,
    priority: row.priority,
    country: row.country,
    active: row.active,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export async function createLocation(tx: Tx, input: CreateLocationInput): Promise<Location> {
  const row = await tx
    .insertInto("locations")
    .values({
      code: input.code,
      name: input.name,
      kind: input.kind,
      priority: input.priority,
      country: input.country ?? null,
      active: input.active,
    })
    .onConflict((oc) => oc.column("code").doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row)
    throw new Conflict(`location ${JSON.stringify(input.code)} already exists`, { location: input.code });
  const location = toLocation(row);
  await emit(tx, [{ type: "location.created", payload: location }]);
  return location;
}

export async function getLocation(db: Queryable, code: string): Promise<Location> {
  const row = await db.selectFrom("locations").selectAll().where("code", "=", code).executeTakeFirst();
  if (!row) throw new NotFound("location", code);
  return toLocation(row);
}

/** Changes name, priority, country or active; an empty change returns the location as it is. */
export async function updateLocation(tx: Tx, code: string, input: UpdateLocationInput): Promise<Location> {
  const { name, priority, country, active } = input;
  if (name === undefined && priority === undefined && country === undefined && active === undefined) {
    return getLocation(tx, code);
  }
  const row = await tx
    .updateTable("locations")
    .set({ name, priority, country, active, updated_at: sql`now()` })
    .where("code", "=", code)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFound("location", code);
  const location = toLocation(row);
  await emit(tx, [{ type: "location.updated", payload: location }]);
  return location;
}

type LocationCursor = [number, number];
const isLocationCursor = (v: unknown): v is LocationCursor =>
  Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n) && n >= 0);

/** A page of locations in preference order: priority, then id. */
export async function listLocationPage(
  db: Queryable,
  opts: { limit: number; cursor?: string; kind?: Location["kind"]; active?: boolean },
) {
  const after = decodeCursor(opts.cursor, isLocationCursor);
  let query = db
    .selectFrom("locations")
    .selectAll()
    .orderBy("priority")
    .orderBy("id")
    .limit(opts.limit + 1);
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb("priority", ">", after[0]),
        eb.and([eb("priority", "=", after[0]), eb("id", ">", after[1])]),
      ]),
    );
  }
  if (opts.kind) query = query.where("kind", "=", opts.kind);
  if (opts.active !== undefined) query = query.where("active", "=", opts.active);
  const rows = await query.execute();
  const result = page(rows, opts.limit, (last) => [last.priority, last.id]);
  return { data: result.data.map(toLocation), next_cursor: result.next_cursor };
}
