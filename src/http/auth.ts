import { createHash, randomBytes } from "node:crypto";
import type { DB } from "../db/pool.js";

/** Keys look like `keel_<43 url-safe chars>`; only their SHA-256 is stored. */
export function hashKey(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

export async function createApiKey(
  db: DB,
  name: string,
): Promise<{ id: number; key: string; prefix: string }> {
  const key = `keel_${randomBytes(32).toString("base64url")}`;
  const prefix = key.slice(0, 12);
  const row = await db
    .insertInto("api_keys")
    .values({ name, prefix, key_hash: hashKey(key) })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, key, prefix };
}

export interface Principal {
  apiKeyId: number;
  actor: string;
}

/**
 * Verifies bearer keys with a short in-process cache, so a busy client costs
 * one map lookup per request instead of a hash and a query. The cache is keyed
 * by the key as presented (it lives only in this process's memory, where
 * every request's header is anyway); the database holds only hashes. A
 * revoked key stops working within `ttlMs`.
 */
export class KeyVerifier {
  private cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private db: DB,
    private ttlMs = 10_000,
  ) {}

  async verify(key: string): Promise<Principal | null> {
    const hit = this.cache.get(key);
    const now = Date.now();
    if (hit && hit.until > now) return hit.principal;
    const hash = hashKey(key);
    const row = await this.db
      .selectFrom("api_keys")
      .select(["id", "name"])
      .where("key_hash", "=", hash)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    const principal = row ? { apiKeyId: row.id, actor: `api_key:${row.name}` } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal, until: now + this.ttlMs });
    return principal;
  }
}

/** Who a request acts as, for ledger rows and timelines: the API key's name. */
export const actorOf = (req: { principal?: Principal }): string => req.principal?.actor ?? "anonymous";
