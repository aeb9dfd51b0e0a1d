import { findLocationsByCode } from "../../catalog/lookup.js";
import type { DB } from "../../db/pool.js";
import type { Tx } from "../../db/tx.js";
import { NotFound, ValidationFailed } from "../../http/errors.js";
import { availabilityOf } from "../../inventory/levels.js";
import { findStockItems } from "../../inventory/refs.js";
import "../../db/schema-stockfeed.js";

/**
 * Channel stock policies: the one place that decides how many units of a SKU
 * a channel is offered. Connectors call `offeredQuantities` to push stock;
 * `GET /v1/inventory/availability?channel=` shows the same number.
 */

export interface StockPolicy {
  /** location codes the channel sells from; null = every active location */
  locations: string[] | null;
  buffer: number;
  share_percent: number;
  max: number | null;
}

export const DEFAULT_POLICY: StockPolicy = { locations: null, buffer: 0, share_percent: 100, max: null };

/** floor((available − buffer) × share / 100), capped at max, never below 0. */
export function offered(policy: StockPolicy, available: number): number {
  const pool = Math.max(0, available - policy.buffer);
  const share = Math.floor((pool * policy.share_percent) / 100);
  return policy.max === null ? share : Math.min(share, policy.max);
}

async function channelId(db: DB | Tx, code: string): Promise<number> {
  const row = await db.selectFrom("channels").select("id").where("code", "=", code).executeTakeFirst();
  if (!row) throw new NotFound("channel", code);
  return row.id;
}

export async function getStockPolicy(db: DB | Tx, code: string): Promise<StockPolicy> {
  const id = await channelId(db, code);
  const row = await db
    .selectFrom("channel_stock_policies")
    .select(["locations", "buffer", "share_percent", "max"])
    .where("channel_id", "=", id)
    .executeTakeFirst();
  return row ?? { ...DEFAULT_POLICY };
}

/** Replaces the channel's policy; omitted fields take their defaults. Unknown location codes are a 422. */
export async function putStockPolicy(
  tx: Tx,
  code: string,
  input: Partial<StockPolicy>,
): Promise<StockPolicy> {
  const id = await channelId(tx, code);
  const policy: StockPolicy = { ...DEFAULT_POLICY, ...input };
  if (policy.locations) {
    policy.locations = [...new Set(policy.locations)];
    const found = await findLocationsByCode(tx, policy.locations);
    const missing = policy.locations.filter((c) => !found.has(c));
    if (missing.length) {
      throw new ValidationFailed([
        { path: "body.locations", message: `unknown location ${missing.join(", ")}` },
      ]);
    }
  }
  await tx
    .insertInto("channel_stock_policies")
    .values({ channel_id: id, ...policy })
    .onConflict((oc) => oc.column("channel_id").doUpdateSet({ ...policy, updated_at: new Date() }))
    .execute();
  return policy;
}

export interface Offer {
  sku: string;
  /** Σ available over the policy's locations; null for goods without stock (digital) */
  available: number | null;
  /** what the channel is offered; null for goods without stock (digital) */
  offered: number | null;
}

/**
 * What the channel is offered of each SKU, by its policy, from Keel's
 * availability (bundles as whole bundles per location). Unknown SKUs are left out.
 */
export async function offeredQuantities(
  db: DB | Tx,
  channelCode: string,
  skus: string[],
): Promise<Map<string, Offer>> {
  const policy = await getStockPolicy(db, channelCode);
  const items = [...(await findStockItems(db, skus)).values()];
  const avail = await availabilityOf(db, items);
  const allowed = policy.locations ? new Set(policy.locations) : null;
  const result = new Map<string, Offer>();
  for (const [sku, a] of avail) {
    if (a.available === null) {
      result.set(sku, { sku, available: null, offered: null });
      continue;
    }
    const sum = a.locations
      .filter((l) => !allowed || allowed.has(l.location))
      .reduce((s, l) => s + l.available, 0);
    result.set(sku, { sku, available: sum, offered: offered(policy, sum) });
  }
  return result;
}
