import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Delivery } from "../inbox.js";

/**
 * Shopify webhook deliveries: `X-Shopify-Hmac-Sha256` is the base64
 * HMAC-SHA256 of the raw body, keyed with the app's secret (the previous
 * secret signs for up to an hour after a rotation). Headers are read with and
 * without the `x-` prefix (the newer "Events" deliveries drop it).
 */

export const SHOPIFY_TOPICS = [
  "orders/create",
  "orders/updated",
  "orders/paid",
  "orders/cancelled",
  "refunds/create",
  "fulfillments/create",
  "fulfillments/update",
  "inventory_levels/update",
] as const;

type Headers = Record<string, string | string[] | undefined>;

export function shopifyHeader(headers: Headers, name: string): string | undefined {
  const v = headers[`x-shopify-${name}`] ?? headers[`shopify-${name}`];
  return Array.isArray(v) ? v[0] : v;
}

/** True when `signature` is the base64 HMAC of `body` under one of `secrets` (constant-time per secret). */
export function verifyBase64Hmac(body: Buffer, signature: string | undefined, secrets: string[]): boolean {
  if (!signature || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim())) return false;
  const given = Buffer.from(signature.trim(), "base64");
  let ok = false;
  for (const secret of secrets) {
    const mac = createHmac("sha256", secret).update(body).digest();
    // every secret is compared, so the time taken does not tell which one matched
    if (given.length === mac.length && timingSafeEqual(given, mac)) ok = true;
  }
  return ok;
}

export type ShopifyCheck = { ok: true; delivery: Delivery } | { ok: false; reason: string };

/** Checks a delivery's signature and shop, and turns it into an inbox entry de-duplicated by webhook and event id. */
export function checkShopifyDelivery(
  body: Buffer,
  headers: Headers,
  secrets: string[],
  shopDomain?: string,
): ShopifyCheck {
  if (secrets.length === 0) return { ok: false, reason: "the channel has no webhook_secret configured" };
  if (!verifyBase64Hmac(body, shopifyHeader(headers, "hmac-sha256"), secrets)) {
    return { ok: false, reason: "X-Shopify-Hmac-Sha256 does not match the body" };
  }
  const shop = shopifyHeader(headers, "shop-domain");
  if (shopDomain && shop && shop.toLowerCase() !== shopDomain.toLowerCase()) {
    return { ok: false, reason: `signed for ${shop}, this channel is ${shopDomain}` };
  }
  const topic = shopifyHeader(headers, "topic") ?? "";
  const webhookId = shopifyHeader(headers, "webhook-id");
  const eventId = shopifyHeader(headers, "event-id");
  const triggered = shopifyHeader(headers, "triggered-at");
  const triggeredAt = triggered && !Number.isNaN(Date.parse(triggered)) ? new Date(triggered) : null;
  const kept: Record<string, string> = {};
  for (const name of [
    "topic",
    "shop-domain",
    "api-version",
    "webhook-id",
    "event-id",
    "triggered-at",
    "name",
  ]) {
    const v = shopifyHeader(headers, name);
    if (v !== undefined) kept[name] = v;
  }
  return {
    ok: true,
    delivery: {
      platform: "shopify",
      topic,
      // Shopify always sends a webhook id; without one, the same body on the same topic is the same delivery
      dedupeKey: webhookId
        ? `webhook:${webhookId}`
        : `body:${createHash("sha256").update(topic).update("\n").update(body).digest("hex")}`,
      eventKey: eventId ? `${topic}:${eventId}` : null,
      triggeredAt,
      headers: kept,
      body: body.toString("utf8"),
    },
  };
}
