import { createHash } from "node:crypto";
import type { Delivery } from "../inbox.js";
import { idText, parseKeepingIds } from "../inbox-json.js";
import { verifyBase64Hmac } from "../shopify/webhooks.js";

/**
 * WooCommerce webhook deliveries (woocommerce includes/class-wc-webhook.php):
 * `X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of the raw body. On
 * creation WooCommerce posts an unsigned form body `webhook_id=N` and needs
 * exactly 200. `X-WC-Webhook-Delivery-ID` is wp_hash(webhook id . seconds),
 * shared by two resources sent in the same second, so a delivery is the
 * resource at one `date_modified`: the same resource in the same state twice
 * is one delivery (WooCommerce builds the body at send time, so it is the
 * latest state either way).
 */

type Headers = Record<string, string | string[] | undefined>;

const header = (headers: Headers, name: string) => {
  const v = headers[`x-wc-webhook-${name}`];
  return Array.isArray(v) ? v[0] : v;
};

/** The unsigned ping WooCommerce sends when a webhook is saved. */
export function isWooPing(body: Buffer, headers: Headers): boolean {
  return header(headers, "signature") === undefined && /^webhook_id=\d+$/.test(body.toString("utf8").trim());
}

export type WooCheck = { ok: true; delivery: Delivery } | { ok: false; reason: string };

export function checkWooDelivery(body: Buffer, headers: Headers, secrets: string[]): WooCheck {
  if (secrets.length === 0) return { ok: false, reason: "the channel has no webhook_secret configured" };
  if (!verifyBase64Hmac(body, header(headers, "signature"), secrets)) {
    return { ok: false, reason: "X-WC-Webhook-Signature does not match the body" };
  }
  const topic = header(headers, "topic") ?? "";
  const resource = header(headers, "resource") ?? topic.split(".")[0] ?? "";
  let key: string | null = null;
  let modified: Date | null = null;
  try {
    const parsed = parseKeepingIds(body.toString("utf8")) as Record<string, unknown> | null;
    const id = idText(parsed?.id);
    const at = parsed?.date_modified_gmt ?? parsed?.date_modified;
    if (id && typeof at === "string") {
      key = `${resource}:${id}:${at}`;
      const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(at) ? at : `${at}Z`;
      if (parsed?.date_modified_gmt && !Number.isNaN(Date.parse(iso))) modified = new Date(iso);
    }
  } catch {
    // malformed: stored all the same, and the processor records why it cannot be applied
  }
  const kept: Record<string, string> = {};
  for (const name of ["topic", "resource", "event", "id", "delivery-id", "source"]) {
    const v = header(headers, name);
    if (v !== undefined) kept[name] = v;
  }
  return {
    ok: true,
    delivery: {
      platform: "woocommerce",
      topic,
      dedupeKey: key ?? `body:${createHash("sha256").update(topic).update("\n").update(body).digest("hex")}`,
      triggeredAt: modified,
      headers: kept,
      body: body.toString("utf8"),
    },
  };
}
