import type { Tx } from "../../db/tx.js";
import { readOrder } from "../../orders/core.js";
import type { FailureRow } from "../monitor/retry.js";
import { type InboxHandler, type InboxHandlers, inboxRetryHandler } from "./inbox.js";
import { shopifyLevelHook } from "./shopify/levels.js";
import {
  applyShopifyFulfillment,
  applyShopifyOrder,
  applyShopifyRefund,
  inventoryLevelHandler,
  type LevelHook,
} from "./shopify/orders.js";
import { applyWooOrder } from "./woocommerce/orders.js";

/**
 * Which handler applies which delivery, by `<platform>:<topic>`. A topic not
 * listed is stored and marked ignored. inventory_levels/update goes to the
 * stock push's hook (shopify/levels.ts: its own echo changes nothing, a change
 * made on Shopify is recorded and set back) unless another is passed.
 */
export function inboxHandlers(hooks: { inventoryLevel?: LevelHook } = {}): InboxHandlers {
  const entries: [string, InboxHandler][] = [
    ["shopify:orders/create", applyShopifyOrder],
    ["shopify:orders/updated", applyShopifyOrder],
    ["shopify:orders/paid", applyShopifyOrder],
    ["shopify:orders/cancelled", applyShopifyOrder],
    ["shopify:refunds/create", applyShopifyRefund],
    ["shopify:fulfillments/create", applyShopifyFulfillment],
    ["shopify:fulfillments/update", applyShopifyFulfillment],
    ["shopify:inventory_levels/update", inventoryLevelHandler(hooks.inventoryLevel ?? shopifyLevelHook)],
    ["woocommerce:order.created", applyWooOrder],
    ["woocommerce:order.updated", applyWooOrder],
    ["woocommerce:order.restored", applyWooOrder],
  ];
  return new Map(entries);
}

/**
 * Retries of inbound failures from the monitor: a failed delivery is applied
 * again; an order put on hold for unknown SKUs counts as fixed once a person
 * has released it (the hold names the lines to add by hand).
 */
export function inboxFailureRetry(handlers: InboxHandlers) {
  const redeliver = inboxRetryHandler(handlers);
  return async (failure: FailureRow, tx: Tx): Promise<void> => {
    if (failure.operation === "ingest_webhook") return redeliver(failure, tx);
    const orderId = Number((failure.detail as { order_id?: number }).order_id);
    if (!orderId) throw new Error("nothing to retry: resolve it by hand");
    const order = await readOrder(tx, orderId);
    if (failure.operation === "ingest_order" && order.hold_reasons.some((r) => r.code === "stock")) {
      throw new Error(
        `order ${order.number} is still on hold for its unknown lines; release it once handled`,
      );
    }
    if (failure.operation !== "ingest_order") {
      throw new Error(`order ${order.number} needs a person (${failure.operation}); dismiss it once handled`);
    }
  };
}
