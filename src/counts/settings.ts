import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";

/**
 * When a counted difference needs a second person: a line whose variance is
 * more than `approval_units` units or more than `approval_value` minor units
 * (at unit cost) either way. Stored in `settings` under the key `counts`.
 */
export interface CountSettings {
  approval_units: number;
  approval_value: number;
}

const DEFAULTS: CountSettings = { approval_units: 10, approval_value: 5000 };

export async function countSettings(db: DB | Tx): Promise<CountSettings> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", "counts").executeTakeFirst();
  return { ...DEFAULTS, ...((row?.value ?? {}) as Partial<CountSettings>) };
}

export async function saveCountSettings(tx: Tx, next: CountSettings): Promise<CountSettings> {
  await tx
    .insertInto("settings")
    .values({ key: "counts", value: JSON.stringify(next) })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value: JSON.stringify(next), updated_at: new Date() }))
    .execute();
  await emit(tx, [{ type: "count_settings.changed", payload: next }]);
  return next;
}
