import { sql } from "kysely";
import type { RetryHandler } from "../../monitor/retry.js";
import "../../../db/schema-shopify.js";

/**
 * Retrying a WooCommerce failure from the monitor: a shipment is sent again
 * (its note is looked for first, so it is never written twice); a stock batch
 * marks its SKUs for the next push round. SKUs the shop lacks are looked up
 * again by every full round (every 15 minutes) and need no retry.
 */
export const retryWooFailure: RetryHandler = async (failure, tx) => {
  const d = (failure.detail ?? {}) as { fulfilment_id?: unknown; skus?: unknown };
  if (failure.operation === "confirm_shipment") {
    const r = await tx
      .updateTable("woo_shipments")
      .set({ state: "pending", attempt: 0, next_attempt_at: new Date(), leased_until: null })
      .where("fulfilment_id", "=", Number(d.fulfilment_id))
      .where("state", "!=", "sent")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new Error("that shipment is no longer waiting to be sent");
    return;
  }
  if (failure.operation === "push_inventory" && Array.isArray(d.skus)) {
    const channel = await tx
      .selectFrom("channels")
      .select("id")
      .where("code", "=", failure.channel_code ?? "")
      .executeTakeFirst();
    if (!channel) throw new Error("the failure does not name a channel");
    await sql`update channel_woo_items set dirty_at = clock_timestamp()
              where channel_id = ${channel.id} and sku = any(${d.skus.map(String)}::text[])`.execute(tx);
    return;
  }
  throw new Error("looked at again by the next full push (every 15 minutes); nothing to retry by hand");
};
