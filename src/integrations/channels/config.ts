import { z } from "zod";
import type { ChannelKind } from "../../db/schema.js";
import { type FieldError, ValidationFailed } from "../../http/errors.js";
import { open, seal } from "../../secrets/box.js";

/**
 * A channel's connector settings, per kind (API.md "Integrations and events"),
 * and the rules around its secrets: they are write-only (every reply shows
 * "***"), and a rotated webhook_secret keeps the previous one valid for an
 * hour, as Shopify may still sign with the old secret for that long.
 *
 * Fields are checked when present; a channel may exist before it is connected
 * (orders imported through the API), and the connector reports what it misses
 * (a webhook on a channel without webhook_secret is refused with 401).
 */

export const MASK = "***";
export const SECRET_KEYS = ["access_token", "consumer_secret", "webhook_secret"] as const;
/** Kept by Keel beside the secret after a rotation; never shown, never set by a client. */
const PREVIOUS_SECRET = "previous_webhook_secret";
const ROTATED_AT = "webhook_secret_rotated_at";
const INTERNAL_KEYS = [PREVIOUS_SECRET, ROTATED_AT];
export const PREVIOUS_SECRET_VALID_MS = 60 * 60_000;

const Secret = z.string().min(8, "at least 8 characters").max(500);
const Url = z
  .url({ protocol: /^https?$/ })
  .max(500)
  .transform((u) => u.replace(/\/+$/, ""));

/** Admin API versions are YYYY-MM; Keel needs the compare-and-set inventory API of 2026-04 or later. */
export const MIN_SHOPIFY_API_VERSION = "2026-04";
const ApiVersion = z
  .string()
  .regex(/^\d{4}-(01|04|07|10)$/, "a Shopify API version such as 2026-07")
  .refine((v) => v >= MIN_SHOPIFY_API_VERSION, `must be ${MIN_SHOPIFY_API_VERSION} or later`);

const Common = {
  sla_hours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .optional(),
  allow_split: z.boolean().optional(),
  tracking_urls: z
    .record(
      z.string().min(1).max(100),
      z
        .string()
        .max(500)
        .regex(/^https:\/\/\S*\{number\}\S*$/, "an https URL with {number} where the tracking number goes"),
    )
    .optional()
    .describe("carrier → tracking URL template, e.g. https://track.example.com/?id={number}"),
};

export const ShopifyConfig = z.looseObject({
  ...Common,
  shop_domain: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, "the shop's myshopify.com domain, e.g. acme.myshopify.com")
    .optional(),
  api_version: ApiVersion.optional(),
  access_token: Secret.optional(),
  webhook_secret: Secret.optional(),
  locations: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "a Keel location code"),
      z
        .string()
        .regex(/^gid:\/\/shopify\/Location\/\d+$/, "a Shopify location GID (gid://shopify/Location/…)"),
    )
    .optional()
    .describe("Keel location code → Shopify location GID"),
  base_url: Url.optional().describe("another server instead of https://{shop_domain} (staging, tests)"),
  products: z
    .enum(["import", "export", "off"])
    .optional()
    .describe(
      "import (default): the product sync maps the shop's SKUs and takes in products Keel lacks; export: Keel's title, status and prices are pushed to mapped products; off: SKUs mapped for stock only",
    ),
});

export const WooCommerceConfig = z.looseObject({
  ...Common,
  base_url: Url.optional().describe("the shop's site URL, e.g. https://shop.example.com"),
  consumer_key: z
    .string()
    .regex(/^ck_[A-Za-z0-9]{8,64}$/, "a WooCommerce consumer key (ck_…)")
    .optional(),
  consumer_secret: z
    .string()
    .regex(/^cs_[A-Za-z0-9]{8,64}$/, "a WooCommerce consumer secret (cs_…)")
    .optional(),
  webhook_secret: Secret.optional(),
});

export const GenericConfig = z.looseObject({ ...Common, webhook_secret: Secret.optional() });

const SCHEMAS: Record<ChannelKind, z.ZodType<Record<string, unknown>>> = {
  shopify: ShopifyConfig,
  woocommerce: WooCommerceConfig,
  webhook: GenericConfig,
  manual: GenericConfig,
};

function refuse(issues: z.core.$ZodIssue[], path: string): never {
  const errors: FieldError[] = issues.map((i) => ({
    path: [path, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  throw new ValidationFailed(errors);
}

/** A new channel's config, checked for its kind. */
export function checkNewConfig(kind: ChannelKind, config: Record<string, unknown>, path = "body.config") {
  for (const k of INTERNAL_KEYS) {
    if (k in config) throw new ValidationFailed([{ path: `${path}.${k}`, message: "is kept by Keel" }]);
  }
  for (const k of SECRET_KEYS) {
    if (config[k] === MASK)
      throw new ValidationFailed([{ path: `${path}.${k}`, message: "give the secret itself" }]);
  }
  const parsed = SCHEMAS[kind].safeParse(config);
  if (!parsed.success) refuse(parsed.error.issues, path);
  return parsed.data;
}

/**
 * The config after a PATCH (plain: seal it to store it): keys given replace theirs (null removes one), keys
 * left out keep their value, a secret given as "***" stays as it is. A new
 * webhook_secret keeps the old one as the previous secret for an hour.
 */
export function patchConfig(
  kind: ChannelKind,
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
  now = new Date(),
  path = "body.config",
): Record<string, unknown> {
  for (const k of INTERNAL_KEYS) {
    if (k in patch) throw new ValidationFailed([{ path: `${path}.${k}`, message: "is kept by Keel" }]);
  }
  current = openConfig(current); // as stored, its secrets are encrypted
  const next: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else if (v === MASK && (SECRET_KEYS as readonly string[]).includes(k)) continue;
    else next[k] = v;
  }
  const parsed = SCHEMAS[kind].safeParse(next);
  if (!parsed.success) refuse(parsed.error.issues, path);
  const out = parsed.data;
  const old = current.webhook_secret;
  if (typeof old === "string" && out.webhook_secret !== old) {
    out[PREVIOUS_SECRET] = old;
    out[ROTATED_AT] = now.toISOString();
  }
  return out;
}

/** Every key of a config that holds a secret (encrypted at rest). */
const SEALED_KEYS: readonly string[] = [...SECRET_KEYS, PREVIOUS_SECRET];

/** The config as stored: its secrets encrypted (src/secrets/box.ts). */
export function sealConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const k of SEALED_KEYS) if (typeof out[k] === "string") out[k] = seal(out[k]);
  return out;
}

/** The config as connectors use it: its secrets decrypted. */
export function openConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const k of SEALED_KEYS) if (typeof out[k] === "string") out[k] = open(out[k]);
  return out;
}

/** What a reply shows: secrets as "***", Keel's own keys left out. */
export function maskConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (INTERNAL_KEYS.includes(k)) continue;
    out[k] = (SECRET_KEYS as readonly string[]).includes(k) && v !== null && v !== undefined ? MASK : v;
  }
  return out;
}

export function maskChannel<T extends { config: Record<string, unknown> }>(channel: T): T {
  return { ...channel, config: maskConfig(channel.config) };
}

/** The secrets a webhook may be signed with now: the current one, and the previous one within the hour. */
export function webhookSecrets(stored: Record<string, unknown>, now = new Date()): string[] {
  const config = openConfig(stored);
  const out: string[] = [];
  if (typeof config.webhook_secret === "string") out.push(config.webhook_secret);
  const prev = config[PREVIOUS_SECRET];
  const at = config[ROTATED_AT];
  if (typeof prev === "string" && typeof at === "string") {
    if (now.getTime() - new Date(at).getTime() < PREVIOUS_SECRET_VALID_MS) out.push(prev);
  }
  return out;
}

export interface ShopifySettings {
  shopDomain?: string;
  apiVersion?: string;
  accessToken?: string;
  /** Keel location code → Shopify location GID. */
  locations: Record<string, string>;
  baseUrl?: string;
}

export function shopifySettings(config: Record<string, unknown>): ShopifySettings {
  const c = ShopifyConfig.parse(openConfig(config));
  return {
    shopDomain: c.shop_domain,
    apiVersion: c.api_version,
    accessToken: c.access_token,
    locations: c.locations ?? {},
    baseUrl: c.base_url ?? (c.shop_domain ? `https://${c.shop_domain}` : undefined),
  };
}
