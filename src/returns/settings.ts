import { z } from "zod";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/** Return policy, kept under the `returns` key of the settings table. */
export const ReturnSettings = z.strictObject({
  window_days: z.number().int().min(0).max(3650).describe("days after delivery a return may be requested"),
  reasons: z
    .array(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/))
    .min(1)
    .max(100)
    .describe("reason codes a customer or agent may give"),
});
export type ReturnSettings = z.infer<typeof ReturnSettings>;

export const DEFAULT_RETURN_SETTINGS: ReturnSettings = {
  window_days: 30,
  reasons: [
    "damaged",
    "defective",
    "wrong_item",
    "not_as_described",
    "does_not_fit",
    "no_longer_needed",
    "arrived_late",
    "other",
  ],
};

export async function readReturnSettings(db: DB | Tx): Promise<ReturnSettings> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", "returns").executeTakeFirst();
  return { ...DEFAULT_RETURN_SETTINGS, ...((row?.value as Partial<ReturnSettings>) ?? {}) };
}

export async function writeReturnSettings(tx: Tx, value: ReturnSettings): Promise<ReturnSettings> {
  await tx
    .insertInto("settings")
    .values({ key: "returns", value: JSON.stringify(value) })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({ value: JSON.stringify(value), updated_at: new Date() }),
    )
    .execute();
  return value;
}
