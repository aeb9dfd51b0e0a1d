import type { FastifyBaseLogger } from "fastify";
import type { DB } from "../../db/pool.js";
import { shopifyStockConsumer } from "../channels/shopify/consumer.js";
import { ProductSender, shopifyProductConsumer } from "../channels/shopify/product-export.js";
import { type PushOptions, ShopifyPusher } from "../channels/shopify/push.js";
import { ShipmentSender, shopifyShipmentConsumer } from "../channels/shopify/shipments.js";
import { SyncRunner } from "../channels/shopify/sync-jobs.js";
import { wooShipmentConsumer } from "../channels/woocommerce/shipments.js";
import { webhookConsumer } from "../webhooks/consumer.js";
import { type SenderOptions, WebhookSender } from "../webhooks/sender.js";
import type { OutboxConsumer } from "./consumer.js";
import { Dispatcher } from "./dispatcher.js";

/** The outbox consumers every Keel process runs. */
export const outboxConsumers: OutboxConsumer[] = [
  webhookConsumer,
  shopifyStockConsumer,
  shopifyShipmentConsumer,
  shopifyProductConsumer,
  wooShipmentConsumer,
];

export interface DispatchOptions {
  /** How often the dispatcher and the webhook sender look for work. Default 150 ms. */
  intervalMs?: number;
  webhooks?: SenderOptions;
  /** The Shopify stock sender (and sync jobs). */
  shopify?: PushOptions;
  /** Consumers this process adds to the built-in ones (the NATS publisher when NATS_URL is set). */
  consumers?: OutboxConsumer[];
}

/** Starts the dispatcher and the webhook sender; `stop` waits for the round in flight. */
export function startDispatch(db: DB, log: FastifyBaseLogger, opts: DispatchOptions = {}) {
  const dispatcher = new Dispatcher(db, [...outboxConsumers, ...(opts.consumers ?? [])], {
    intervalMs: opts.intervalMs,
    log,
  });
  const sender = new WebhookSender(db, { intervalMs: opts.intervalMs, log, ...opts.webhooks });
  const shopify = new ShopifyPusher(db, { intervalMs: opts.intervalMs, log, ...opts.shopify });
  const shopifySync = new SyncRunner(db, shopify, { log });
  const shopifyShipments = new ShipmentSender(db, shopify, { log, intervalMs: opts.intervalMs });
  const shopifyProducts = new ProductSender(db, shopify, { log, intervalMs: opts.intervalMs });
  dispatcher.start();
  sender.start();
  shopify.start();
  shopifySync.start();
  shopifyShipments.start();
  shopifyProducts.start();
  return {
    dispatcher,
    sender,
    shopify,
    async stop() {
      await Promise.all([
        dispatcher.stop(),
        sender.stop(),
        shopify.stop(),
        shopifySync.stop(),
        shopifyShipments.stop(),
        shopifyProducts.stop(),
      ]);
    },
  };
}
