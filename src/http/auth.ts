import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Grants } from "../access/guard.js";
import { AccessChanges } from "../access/invalidation.js";
import type { Permission } from "../access/permissions.js";
import { DEFAULT_KEY_ROLES } from "../access/roles.js";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "./errors.js";
import "../db/schema-access.js";

/** Keys look like `keel_<43 url-safe chars>`; only their SHA-256 is stored. */
export function hashKey(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/**
 * Creates a key with the named roles (default integration + admin: what every
 * key could do before roles existed) and an optional expiry. The key is
 * returned once; only its hash is kept.
 */
export async function createApiKey(
  db: DB | Tx,
  name: string,
  opts: { roles?: readonly string[]; expiresAt?: Date | null } = {},
): Promise<{ id: number; key: string; prefix: string }> {
  const roles = opts.roles ?? DEFAULT_KEY_ROLES;
  const key = `keel_${randomBytes(32).toString("base64url")}`;
  const prefix = key.slice(0, 12);
  const run = async (tx: Tx) => {
    const found = roles.length
      ? await tx.selectFrom("roles").select(["id", "name"]).where("name", "in", roles).execute()
      : [];
    const unknown = roles.filter((r) => !found.some((f) => f.name === r));
    if (unknown.length > 0) {
      throw new ValidationFailed(unknown.map((r) => ({ path: "body.roles", message: `no role ${r}` })));
    }
    const row = await tx
      .insertInto("api_keys")
      .values({ name, prefix, key_hash: hashKey(key), expires_at: opts.expiresAt ?? null })
      .returning("id")
      .executeTakeFirstOrThrow();
    if (found.length > 0) {
      await tx
        .insertInto("api_key_roles")
        .values(found.map((r) => ({ api_key_id: row.id, role_id: r.id })))
        .execute();
    }
    return { id: row.id, key, prefix };
  };
  return db.isTransaction ? run(db as Tx) : (db as DB).transaction().execute(run);
}

export interface Principal {
  kind: "key" | "user";
  /** The API key a request came with; null for a signed-in user. */
  apiKeyId: number | null;
  /** The signed-in user; null for an API key. */
  userId: number | null;
  sessionId: number | null;
  /** Who acts, for the audit trail, ledger rows and timelines: `api_key:<name>` or `user:<email>`. */
  actor: string;
  /** The union of the principal's roles' permissions. */
  grants: Grants;
  /** Cookie sessions only: the token writes must echo in `X-CSRF-Token`. */
  csrfToken?: string;
}

/**
 * Verifies bearer keys with a short in-process cache, so a busy client costs
 * one map lookup per request instead of a hash and a query. The cache is keyed
 * by the key as presented (it lives only in this process's memory, where
 * every request's header is anyway); the database holds only hashes.
 *
 * A cached key never outlives a revocation, expiry or role change: this
 * process drops its cache when it makes such a change (`invalidate`), every
 * process drops it when PostgreSQL notifies `keel_access` (triggers on the
 * key and role tables), an entry never lives past its key's `expires_at`,
 * and while the LISTEN connection is down nothing is cached at all.
 */
export class KeyVerifier {
  private cache = new Map<string, { principal: Principal | null; until: number }>();
  /** Bumped by every invalidation: a lookup that started before one must not fill the cache. */
  private generation = 0;
  readonly changes: AccessChanges;

  constructor(
    private db: DB,
    private ttlMs = 10_000,
  ) {
    this.changes = new AccessChanges(db, () => this.invalidate());
  }

  start(): Promise<void> {
    return this.changes.start();
  }

  stop(): Promise<void> {
    return this.changes.stop();
  }

  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  async verify(key: string): Promise<Principal | null> {
    const hit = this.cache.get(key);
    const now = Date.now();
    if (hit && hit.until > now) return hit.principal;
    const generation = this.generation;
    const found = await sql<{ id: number; name: string; expires_at: Date | null; permissions: string[] }>`
      select k.id, k.name, k.expires_at,
        coalesce((select array_agg(distinct rp.permission) from api_key_roles kr
          join role_permissions rp on rp.role_id = kr.role_id where kr.api_key_id = k.id), '{}') as permissions
      from api_keys k
      where k.key_hash = ${hashKey(key)} and k.revoked_at is null
        and (k.expires_at is null or k.expires_at > now())`.execute(this.db);
    const row = found.rows[0];
    const principal: Principal | null = row
      ? {
          kind: "key",
          apiKeyId: row.id,
          userId: null,
          sessionId: null,
          actor: `api_key:${row.name}`,
          grants: new Set(row.permissions as Permission[]),
        }
      : null;
    if (this.changes.healthy && generation === this.generation) {
      if (this.cache.size > 10_000) this.cache.clear();
      const until = Math.min(now + this.ttlMs, row?.expires_at?.getTime() ?? Number.POSITIVE_INFINITY);
      this.cache.set(key, { principal, until });
    }
    return principal;
  }
}

/** Who a request acts as, for ledger rows and timelines. */
export const actorOf = (req: { principal?: Principal }): string => req.principal?.actor ?? "anonymous";
