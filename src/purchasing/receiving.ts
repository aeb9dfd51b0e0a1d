import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { resolveLocations } from "../inventory/refs.js";

/**
 * How a location receives purchase orders: straight into on_hand, or into
 * quarantine for inspection first; and whether it accepts more than ordered.
 * Kept in purchasing's own table, beside the location.
 */
export interface ReceivingSetting {
  inspect: boolean;
  allow_over_receipt: boolean;
}

export async function receivingAt(db: DB | Tx, locationId: number): Promise<ReceivingSetting> {
  const row = await db
    .selectFrom("location_receiving")
    .select(["inspect", "allow_over_receipt"])
    .where("location_id", "=", locationId)
    .executeTakeFirst();
  return row ?? { inspect: false, allow_over_receipt: false };
}

export async function setReceiving(
  tx: Tx,
  req: { location: string; inspect: boolean; allow_over_receipt: boolean },
): Promise<{ location: string } & ReceivingSetting> {
  const loc = (await resolveLocations(tx, [{ code: req.location, path: "body.location" }])).get(
    req.location,
  )!;
  await tx
    .insertInto("location_receiving")
    .values({ location_id: loc.id, inspect: req.inspect, allow_over_receipt: req.allow_over_receipt })
    .onConflict((oc) =>
      oc.column("location_id").doUpdateSet({
        inspect: req.inspect,
        allow_over_receipt: req.allow_over_receipt,
        updated_at: new Date(),
      }),
    )
    .execute();
  const view = { location: loc.code, inspect: req.inspect, allow_over_receipt: req.allow_over_receipt };
  await emit(tx, [{ type: "location_receiving.changed", payload: view }]);
  return view;
}

export async function listReceiving(db: DB): Promise<({ location: string } & ReceivingSetting)[]> {
  return db
    .selectFrom("locations as l")
    .leftJoin("location_receiving as r", "r.location_id", "l.id")
    .select((eb) => [
      "l.code as location",
      eb.fn.coalesce("r.inspect", eb.val(false)).as("inspect"),
      eb.fn.coalesce("r.allow_over_receipt", eb.val(false)).as("allow_over_receipt"),
    ])
    .orderBy("l.code")
    .execute();
}
