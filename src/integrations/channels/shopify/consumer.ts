import type { Tx } from "../../../db/tx.js";
import type { OutboxEvent } from "../../../events/outbox.js";
import type { OutboxConsumer } from "../../dispatch/consumer.js";
import { enqueueTargets, shopifyChannels } from "./targets.js";

/**
 * The "shopify-stock" outbox consumer: committed inventory changes become
 * wanted values in `shopify_stock_targets`, in the dispatcher's transaction
 * (exactly once per batch). A level's event names its SKU and the bundles it
 * is part of; their availability is read now, so a burst of changes to one
 * SKU leaves one row with the latest value. The sender does the HTTP.
 */
export const shopifyStockConsumer: OutboxConsumer = {
  name: "shopify-stock",
  types: ["inventory.level_changed"],
  batchSize: 1000,
  async handle(tx: Tx, events: OutboxEvent[]) {
    const channels = await shopifyChannels(tx);
    if (channels.length === 0) return;
    const skus = new Set<string>();
    for (const e of events) {
      const p = e.payload as { sku?: unknown; bundles?: unknown } | null;
      if (typeof p?.sku === "string") skus.add(p.sku);
      if (Array.isArray(p?.bundles)) for (const b of p.bundles) if (typeof b === "string") skus.add(b);
    }
    if (skus.size === 0) return;
    for (const ch of channels) await enqueueTargets(tx, ch, [...skus].sort());
  },
};
