/**
 * What the Shopify connector reads from a channel's config (API.md: shop_domain,
 * api_version, access_token, locations {keel location code: Shopify location GID},
 * base_url). Validating the config when a channel is saved is the channel
 * module's job; this only reads it, and says plainly what is missing.
 */
import { open } from "../../../secrets/box.js";

export interface ShopifySettings {
  channel: string;
  shopDomain: string;
  apiVersion: string;
  accessToken: string;
  /** keel location code → Shopify location GID */
  locations: Map<string, string>;
  /** the Admin GraphQL endpoint */
  endpoint: string;
  /** product direction: import (default), export (Keel's changes pushed), off */
  products: "import" | "export" | "off";
}

export class ShopifyConfigError extends Error {}

/** Stock and import need API version 2026-04 or later (changeFromQuantity and @idempotent). */
export const MIN_API_VERSION = "2026-04";

export function shopifySettings(channel: { code: string; config: Record<string, unknown> }): ShopifySettings {
  const c = channel.config;
  const problems: string[] = [];
  const str = (k: string) => {
    const v = c[k];
    if (typeof v !== "string" || v.length === 0) {
      problems.push(`${k} is missing`);
      return "";
    }
    return v;
  };
  const shopDomain = str("shop_domain");
  const apiVersion = str("api_version");
  const accessToken = open(str("access_token")); // encrypted at rest
  if (
    apiVersion &&
    !(apiVersion === "unstable" || (/^\d{4}-\d{2}$/.test(apiVersion) && apiVersion >= MIN_API_VERSION))
  )
    problems.push(`api_version ${apiVersion}: ${MIN_API_VERSION} or later is needed`);
  const locations = new Map<string, string>();
  const raw = c.locations;
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [code, gid] of Object.entries(raw)) {
      if (typeof gid === "string" && gid.startsWith("gid://shopify/Location/")) locations.set(code, gid);
      else problems.push(`locations.${code} is not a Shopify location GID`);
    }
  } else problems.push("locations is missing");
  const base =
    typeof c.base_url === "string" && c.base_url ? c.base_url.replace(/\/+$/, "") : `https://${shopDomain}`;
  if (problems.length) throw new ShopifyConfigError(`channel ${channel.code}: ${problems.join("; ")}`);
  return {
    channel: channel.code,
    shopDomain,
    apiVersion,
    accessToken,
    locations,
    endpoint: `${base}/admin/api/${apiVersion}/graphql.json`,
    products: c.products === "export" || c.products === "off" ? c.products : "import",
  };
}
