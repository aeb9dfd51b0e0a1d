import { sql } from "kysely";
import type { Tx } from "../../../db/tx.js";
import type { LevelHook, ShopifyLevel } from "./orders.js";
import "../../../db/schema-shopify.js";

/**
 * What the stock push does with a level Shopify reports (inventory_levels/update),
 * in the delivery's transaction, holding the target's row lock:
 *
 * - the echo of Keel's own push (the value Keel last confirmed) changes nothing;
 * - a report older than Keel's last push that went through changes nothing
 *   either (a late echo of an earlier push);
 * - the value Keel wants, where Keel had not confirmed it (a push whose reply
 *   was lost): confirmed, and the level is clean;
 * - anything else is a change made on Shopify (an admin edit, a sale there):
 *   recorded in the delivery's outcome, taken as the confirmed value (so the
 *   next compare-and-set is right and does not come back stale), and the level
 *   turns dirty to be set back to what Keel offers, after `FOREIGN_GRACE_MS`:
 *   a sale's orders/create, usually on its way, is applied first and lowers
 *   what Keel offers, so the units Shopify sold are not given back.
 *
 * A level of an item or location Keel does not sync is only kept.
 */

export const FOREIGN_GRACE_MS = 5_000;

export const shopifyLevelHook: LevelHook = async (tx: Tx, level: ShopifyLevel) => {
  const seen = () =>
    sql`update channel_inventory_levels set pending = false
        where channel_id = ${level.channel.id} and inventory_item_id = ${level.inventoryItemId}
          and location_id = ${level.locationId}`.execute(tx);
  const target = (
    await sql<{
      sku: string;
      location_code: string;
      wanted: number;
      confirmed: number | null;
      state: string;
      pushed_at: Date | null;
    }>`
      select sku, location_code, wanted, confirmed, state, pushed_at from shopify_stock_targets
      where channel_id = ${level.channel.id} and inventory_item_gid = ${level.inventoryItemId}
        and location_gid = ${level.locationId}
      order by sku, location_code limit 1 for update`.execute(tx)
  ).rows[0];
  if (!target) {
    await seen();
    return { sync: "not synced by Keel" };
  }
  const about = { sku: target.sku, keel_location: target.location_code };
  if (level.available === null) {
    await seen();
    return { ...about, sync: "no available quantity reported" };
  }
  if (level.available === target.confirmed) {
    await seen();
    return { ...about, sync: "echo of Keel's push" };
  }
  if (level.updatedAt && target.pushed_at && level.updatedAt < new Date(target.pushed_at)) {
    await seen();
    return { ...about, sync: "older than Keel's last push" };
  }
  const where = sql`channel_id = ${level.channel.id} and sku = ${target.sku} and location_code = ${target.location_code}`;
  if (level.available === target.wanted) {
    await sql`update shopify_stock_targets set confirmed = ${level.available},
                confirmed_version = confirmed_version + 1, state = 'clean', dirty_since = null,
                error = null, updated_at = now()
              where ${where} and (leased_until is null or leased_until < now())`.execute(tx);
    await seen();
    return { ...about, sync: "confirms what Keel wants" };
  }
  await sql`update shopify_stock_targets set confirmed = ${level.available},
              confirmed_version = confirmed_version + 1, state = 'dirty',
              dirty_since = coalesce(dirty_since, now()), error = null, updated_at = now(),
              next_attempt_at = greatest(next_attempt_at, now() + ${`${FOREIGN_GRACE_MS} milliseconds`}::interval)
            where ${where}`.execute(tx);
  await seen();
  return {
    ...about,
    sync: "changed on Shopify",
    was: target.confirmed,
    keel_offers: target.wanted,
    set_back_after_ms: FOREIGN_GRACE_MS,
  };
};
