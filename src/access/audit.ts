import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import "../db/schema-audit.js";

/** Larger response bodies are stored as a stub naming their id and size, not in full. */
export const MAX_AFTER_BYTES = 16_384;

export interface AuditEntry {
  actor: string;
  actorKind: "key" | "user" | "anonymous";
  action: string;
  entityType?: string | null;
  entityId?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  ip?: string | null;
  approvalId?: number | null;
}

function jsonOrNull(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  if (text.length <= MAX_AFTER_BYTES) return text;
  const id = typeof value === "object" && value !== null ? (value as { id?: unknown }).id : undefined;
  return JSON.stringify({
    truncated: true,
    bytes: Buffer.byteLength(text),
    ...(id !== undefined ? { id } : {}),
  });
}

/** Appends audit rows in the caller's transaction (one INSERT): they commit or roll back with the change. */
export async function recordAudit(tx: Tx, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx
    .insertInto("audit_log")
    .values(
      entries.map((e) => ({
        actor: e.actor,
        actor_kind: e.actorKind,
        action: e.action,
        entity_type: e.entityType ?? null,
        entity_id: e.entityId ?? null,
        before: jsonOrNull(e.before),
        after: jsonOrNull(e.after),
        request_id: e.requestId ?? null,
        ip: e.ip ?? null,
        approval_id: e.approvalId ?? null,
      })),
    )
    .execute();
}

/** Response fields that carry a secret shown once (an API key, a generated password): never audited. */
const SECRET_FIELDS = new Set(["key", "password", "secret", "csrf_token", "token", "otpauth_url"]);

function redacted(body: unknown): unknown {
  if (!body || typeof body !== "object" || Array.isArray(body)) return body;
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.some(([k]) => SECRET_FIELDS.has(k))) return body;
  return Object.fromEntries(entries.map(([k, v]) => [k, SECRET_FIELDS.has(k) ? "[redacted]" : v]));
}

/**
 * What a request changed, for write(): the action is the method and route
 * pattern (`POST /v1/orders/:id/approve`), the entity type the first path
 * segment after /v1, its id the route's `:id` (else its first parameter),
 * else the response body's `id` (a create).
 */
export function auditEntryFor(req: FastifyRequest, body: unknown): AuditEntry {
  const pattern = req.routeOptions.url ?? req.url;
  const segments = pattern.split("?")[0]?.split("/").filter(Boolean) ?? [];
  const entityType = (segments[0] === "v1" ? segments[1] : segments[0]) ?? null;
  const params = (req.params ?? {}) as Record<string, unknown>;
  const fromBody = body && typeof body === "object" ? (body as { id?: unknown }).id : undefined;
  // the body's id is canonical (`:id` may be an order number); other params name a parent entity
  const keys = Object.keys(params);
  const entityId = keys.length === 0 || "id" in params ? (fromBody ?? params.id) : params[keys[0] as string];
  return {
    actor: req.principal?.actor ?? "anonymous",
    actorKind: req.principal ? (req.principal.kind === "user" ? "user" : "key") : "anonymous",
    action: `${req.method} ${pattern}`,
    entityType,
    entityId: entityId === undefined || entityId === null ? null : String(entityId),
    after: redacted(body),
    requestId: req.id,
    ip: req.ip,
  };
}

const ZERO = Buffer.alloc(32);
const SEAL_LOCK = 0x6b65656c_61756474n; // "keelaudt": one sealer at a time across processes

function chainHash(prev: Buffer, rowText: string): Buffer {
  return createHash("sha256").update(prev).update(rowText, "utf8").digest();
}

/**
 * Seals up to `batch` committed, unsealed audit rows (lowest id first) onto
 * the end of the chain. The row's canonical text is PostgreSQL's
 * `to_jsonb(row)::text` (jsonb orders keys deterministically), so verify
 * recomputes exactly what was hashed. Returns the number sealed.
 */
export async function sealAudit(db: DB, batch = 1000): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const locked = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${SEAL_LOCK}) as ok`.execute(
      tx,
    );
    if (!locked.rows[0]?.ok) return 0;
    const last = await tx
      .selectFrom("audit_seals")
      .select(["seq", "hash"])
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    // rows from transactions still in flight are invisible here; they are sealed by a later run
    const rows = await sql<{ id: number; row: string }>`
      select a.id, to_jsonb(a)::text as row from audit_log a
      where not exists (select 1 from audit_seals s where s.id = a.id)
      order by a.id limit ${batch}`.execute(tx);
    let seq = last?.seq ?? 0;
    let prev: Buffer = last?.hash ?? ZERO;
    const seals = rows.rows.map((r) => {
      const hash = chainHash(prev, r.row);
      const seal = { seq: ++seq, id: r.id, prev_hash: prev, hash };
      prev = hash;
      return seal;
    });
    if (seals.length > 0) await tx.insertInto("audit_seals").values(seals).execute();
    return seals.length;
  });
}

export type VerifyResult =
  | { ok: true; verified: number; unsealed: number }
  | { ok: false; verified: number; firstBad: { seq: number; id: number; reason: string } };

/** Recomputes the whole chain in seal order; stops at the first row whose hash does not match. */
export async function verifyAudit(db: DB, pageSize = 5000): Promise<VerifyResult> {
  let prev: Buffer = ZERO;
  let expectSeq = 1;
  let verified = 0;
  for (;;) {
    const page = await sql<{ seq: number; id: number; prev_hash: Buffer; hash: Buffer; row: string | null }>`
      select s.seq, s.id, s.prev_hash, s.hash, to_jsonb(a)::text as row
      from audit_seals s left join audit_log a on a.id = s.id
      where s.seq >= ${expectSeq} order by s.seq limit ${pageSize}`.execute(db);
    for (const s of page.rows) {
      const bad = (reason: string): VerifyResult => ({
        ok: false,
        verified,
        firstBad: { seq: s.seq, id: s.id, reason },
      });
      if (s.seq !== expectSeq) return bad(`seal ${expectSeq} is missing`);
      if (s.row === null) return bad("audit row is missing");
      if (!s.prev_hash.equals(prev)) return bad("seal does not link to the previous one");
      const hash = chainHash(prev, s.row);
      if (!hash.equals(s.hash)) return bad("audit row was altered after it was sealed");
      prev = hash;
      expectSeq++;
      verified++;
    }
    if (page.rows.length < pageSize) break;
  }
  const unsealed = await sql<{ n: number }>`
    select count(*)::int as n from audit_log a
    where not exists (select 1 from audit_seals s where s.id = a.id)`.execute(db);
  return { ok: true, verified, unsealed: unsealed.rows[0]?.n ?? 0 };
}
