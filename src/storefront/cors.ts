/**
 * Which web origins may call the public storefront API from a shop's own pages:
 * KEEL_STOREFRONT_ORIGINS, comma-separated (`https://shop.example,https://www.shop.example`),
 * or `*` for any. Unset: none (same-origin only). Read on each request (parsed once per value).
 */
export function storefrontOrigins(env: NodeJS.ProcessEnv = process.env): (origin: string) => boolean {
  let raw: string | undefined;
  let test: (origin: string) => boolean = () => false;
  return (origin) => {
    if (env.KEEL_STOREFRONT_ORIGINS !== raw) {
      raw = env.KEEL_STOREFRONT_ORIGINS;
      const list = (raw ?? "")
        .split(",")
        .map((o) => o.trim().replace(/\/$/, "").toLowerCase())
        .filter(Boolean);
      const set = new Set(list);
      test = list.includes("*") ? () => true : (o) => set.has(o.toLowerCase());
    }
    return test(origin);
  };
}

export const STOREFRONT_API = /^\/v1\/storefront\//;
