import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import type { Tx } from "../../../db/tx.js";
import { availabilityOf } from "../../../inventory/levels.js";
import { findStockItems } from "../../../inventory/refs.js";
import { getStockPolicy, offered } from "../../stock-policy/policy.js";
import { type ShopifySettings, shopifySettings } from "./settings.js";
import "../../../db/schema-shopify.js";

/**
 * What Keel wants each Shopify level to be, written into the coalescing table
 * `shopify_stock_targets` (one row per channel × SKU × location; a newer value
 * simply replaces an older one that was not sent yet).
 *
 * Per mapped location: the channel's stock policy decides the channel's total
 * (floor((Σ available over its locations − buffer) × share / 100), capped),
 * and that total is laid over the mapped locations in Keel's location priority
 * order, each taking at most what it has available. Shopify's levels then add
 * up to what the policy offers (except units at Keel locations with no Shopify
 * location mapped, which Shopify cannot show).
 */

export interface ShopifyChannel {
  id: number;
  code: string;
  settings: ShopifySettings;
}

/** Shopify channels with a usable config (others are skipped: health shows them as not syncing). */
export async function shopifyChannels(db: DB | Tx, code?: string): Promise<ShopifyChannel[]> {
  let q = db.selectFrom("channels").select(["id", "code", "config"]).where("kind", "=", "shopify");
  if (code) q = q.where("code", "=", code);
  const rows = await q.orderBy("id").execute();
  const out: ShopifyChannel[] = [];
  for (const r of rows) {
    try {
      out.push({
        id: r.id,
        code: r.code,
        settings: shopifySettings({ code: r.code, config: r.config as Record<string, unknown> }),
      });
    } catch {
      // not configured (yet)
    }
  }
  return out;
}

/** Wanted quantity per SKU × mapped Keel location code, for the SKUs Keel tracks stock of. */
export async function wantedLevels(
  db: DB | Tx,
  channel: ShopifyChannel,
  skus: string[],
): Promise<Map<string, Map<string, number>>> {
  const policy = await getStockPolicy(db, channel.code);
  const items = [...(await findStockItems(db, skus)).values()];
  const avail = await availabilityOf(db, items);
  const allowed = policy.locations ? new Set(policy.locations) : null;
  const mapped = channel.settings.locations;
  const out = new Map<string, Map<string, number>>();
  for (const [sku, a] of avail) {
    if (a.available === null) continue; // digital: nothing to count
    const usable = a.locations.filter((l) => !allowed || allowed.has(l.location));
    let remaining = offered(
      policy,
      usable.reduce((s, l) => s + l.available, 0),
    );
    const per = new Map<string, number>([...mapped.keys()].map((code) => [code, 0]));
    for (const l of usable) {
      if (!per.has(l.location)) continue;
      const give = Math.min(l.available, remaining);
      per.set(l.location, give);
      remaining -= give;
    }
    out.set(sku, per);
  }
  return out;
}

/**
 * Writes the wanted values of these SKUs (all mapped ones when `skus` is
 * "all") for one channel. A row changes only when its wanted value does;
 * it turns dirty unless Shopify already confirmed that value. `force`
 * (a full sync) also forgets what Shopify confirmed, so every level is set
 * again outright. Rows are written in key order. Returns the rows written.
 */
export async function enqueueTargets(
  tx: Tx,
  channel: ShopifyChannel,
  skus: string[] | "all",
  opts: { force?: boolean } = {},
): Promise<number> {
  let q = tx
    .selectFrom("shopify_inventory_items")
    .select(["sku", "inventory_item_gid"])
    .where("channel_id", "=", channel.id);
  if (skus !== "all") {
    if (skus.length === 0) return 0;
    q = q.where("sku", "=", sql<string>`any(${skus}::text[])`);
  }
  const mapping = await q.orderBy("sku").execute();
  if (mapping.length === 0 || channel.settings.locations.size === 0) return 0;
  let written = 0;
  // in slices, so a full sync of 25,000 SKUs is not one giant statement
  for (let i = 0; i < mapping.length; i += 2000) {
    const slice = mapping.slice(i, i + 2000);
    const wanted = await wantedLevels(
      tx,
      channel,
      slice.map((m) => m.sku),
    );
    const rows: { sku: string; loc: string; gid: string; item: string; wanted: number }[] = [];
    for (const m of slice) {
      const per = wanted.get(m.sku);
      if (!per) continue;
      for (const [loc, w] of [...per].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        rows.push({
          sku: m.sku,
          loc,
          gid: channel.settings.locations.get(loc)!,
          item: m.inventory_item_gid,
          wanted: w,
        });
    }
    if (rows.length === 0) continue;
    const force = opts.force === true;
    const res = await sql`
      insert into shopify_stock_targets as t
        (channel_id, sku, location_code, location_gid, inventory_item_gid, wanted)
      select ${channel.id}, sku, loc, gid, item, wanted
      from unnest(${rows.map((r) => r.sku)}::text[], ${rows.map((r) => r.loc)}::text[], ${rows.map((r) => r.gid)}::text[],
                  ${rows.map((r) => r.item)}::text[], ${rows.map((r) => r.wanted)}::int[]) as x(sku, loc, gid, item, wanted)
      order by sku, loc
      on conflict (channel_id, sku, location_code) do update set
        wanted = excluded.wanted,
        location_gid = excluded.location_gid,
        inventory_item_gid = excluded.inventory_item_gid,
        confirmed = case when ${force} or t.location_gid <> excluded.location_gid
                           or t.inventory_item_gid <> excluded.inventory_item_gid then null else t.confirmed end,
        state = case when not ${force} and t.state = 'clean' and t.confirmed = excluded.wanted
                       and t.location_gid = excluded.location_gid and t.inventory_item_gid = excluded.inventory_item_gid
                     then 'clean' else 'dirty' end,
        dirty_since = case when not ${force} and t.state = 'clean' and t.confirmed = excluded.wanted
                             and t.location_gid = excluded.location_gid and t.inventory_item_gid = excluded.inventory_item_gid
                           then null else coalesce(t.dirty_since, now()) end,
        next_attempt_at = case when t.state = 'dirty' then t.next_attempt_at else now() end,
        error = null,
        updated_at = now()
      where ${force} or t.wanted <> excluded.wanted or t.location_gid <> excluded.location_gid
         or t.inventory_item_gid <> excluded.inventory_item_gid`.execute(tx);
    written += Number(res.numAffectedRows ?? 0);
  }
  return written;
}
