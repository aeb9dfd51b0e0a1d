import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { auditEntryFor, recordAudit } from "../access/audit.js";
import type { DB } from "../db/pool.js";
import { inTransaction, type Tx } from "../db/tx.js";
import { DomainError } from "./errors.js";

export interface WriteResult<T = unknown> {
  status: number;
  body: T;
}

class IdempotencyKeyReused extends DomainError {
  constructor(key: string) {
    super(
      422,
      "idempotency_key_reused",
      "Idempotency key reused",
      `Idempotency-Key ${JSON.stringify(key)} was already used with a different request`,
    );
  }
}

/** JSON with object keys sorted, so the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Runs a write in one transaction. With an `Idempotency-Key` header the key is
 * recorded in that same transaction together with the response: a crash keeps
 * neither, a retry with the same body gets the stored response, a different
 * body gets 422, and a concurrent duplicate waits on the key's unique index
 * until the first commits and then replays its response. Failed requests
 * (4xx) roll back and store nothing, so they can be retried with the same key.
 */
export async function write<T>(
  db: DB,
  req: FastifyRequest,
  reply: FastifyReply,
  change: (tx: Tx) => Promise<WriteResult<T>>,
): Promise<T> {
  // every successful write leaves one audit row in its own transaction; a
  // failure (thrown, or a 4xx result) leaves none, and a replay never runs this
  const work = async (tx: Tx): Promise<WriteResult<T>> => {
    const result = await change(tx);
    if (result.status < 400) await recordAudit(tx, [auditEntryFor(req, result.body)]);
    return result;
  };
  const key = req.headers["idempotency-key"];
  if (typeof key !== "string" || req.method !== "POST") {
    const result = await inTransaction(db, work);
    reply.code(result.status);
    return result.body;
  }
  if (key.length === 0 || key.length > 255) {
    throw new DomainError(
      400,
      "validation_failed",
      "Validation failed",
      "Idempotency-Key must be 1-255 characters",
      {
        errors: [{ path: "header.idempotency-key", message: "must be 1-255 characters" }],
      },
    );
  }
  // records are scoped by principal: its API key, or the signed-in user
  const p = req.principal;
  const scope =
    p?.apiKeyId != null
      ? { column: "api_key_id" as const, id: p.apiKeyId }
      : p?.userId != null
        ? { column: "user_id" as const, id: p.userId }
        : undefined;
  if (!scope) {
    // public routes have no principal to scope the key by; run them plainly
    const result = await inTransaction(db, work);
    reply.code(result.status);
    return result.body;
  }
  const path = req.routeOptions.url ?? req.url;
  const requestHash = createHash("sha256")
    .update(`${req.method} ${req.url}\n${canonical(req.body ?? null)}`)
    .digest();

  const result = await inTransaction(db, async (tx) => {
    const inserted = await sql`
      insert into idempotency_keys (${sql.ref(scope.column)}, key, method, path, request_hash, response_status)
      values (${scope.id}, ${key}, ${req.method}, ${path}, ${requestHash}, 0)
      on conflict do nothing returning 1`.execute(tx);
    if (inserted.rows.length === 0) {
      const stored = await tx
        .selectFrom("idempotency_keys")
        .select(["request_hash", "response_status", "response_body"])
        .where(scope.column, "=", scope.id)
        .where("key", "=", key)
        .executeTakeFirstOrThrow();
      if (!stored.request_hash.equals(requestHash)) throw new IdempotencyKeyReused(key);
      return { status: stored.response_status, body: stored.response_body as T, replayed: true };
    }
    const fresh = await work(tx);
    await tx
      .updateTable("idempotency_keys")
      .set({ response_status: fresh.status, response_body: JSON.stringify(fresh.body ?? null) })
      .where(scope.column, "=", scope.id)
      .where("key", "=", key)
      .execute();
    return { ...fresh, replayed: false };
  });
  if (result.replayed) reply.header("idempotent-replayed", "true");
  reply.code(result.status);
  return result.body;
}
