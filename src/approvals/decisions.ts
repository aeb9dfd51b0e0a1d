import { sql } from "kysely";
import { type AuditEntry, recordAudit } from "../access/audit.js";
import { authorize } from "../access/guard.js";
import type { DB } from "../db/pool.js";
import { inTransaction, type Tx } from "../db/tx.js";
import type { Principal } from "../http/auth.js";
import { DomainError, NotFound } from "../http/errors.js";
import { APPROVAL_KINDS, principalId } from "./gate.js";
import type { Kind } from "./policies.js";
import { type ApprovalRow, type ApprovalView, approvalView } from "./view.js";

export class ApprovalNotPending extends DomainError {
  constructor(row: ApprovalRow) {
    super(
      409,
      "approval_not_pending",
      "Approval already decided",
      `approval ${row.id} is ${row.status}: it can be decided only once`,
      { approval: approvalView(row) },
    );
  }
}

export class OwnRequest extends DomainError {
  constructor(id: number) {
    super(
      403,
      "approval_own_request",
      "You cannot decide your own request",
      `approval ${id} was requested by you: another principal holding the permission must decide it`,
    );
  }
}

class Stale extends DomainError {
  constructor(was: unknown, now: unknown) {
    super(
      409,
      "approval_stale",
      "Changed since the request",
      `what the request was made against has changed since (was ${JSON.stringify(was)}, now ${JSON.stringify(now)}): ask again`,
    );
  }
}

class RequesterCannot extends DomainError {
  constructor(row: ApprovalRow) {
    super(
      409,
      "approval_requester_lost_permission",
      "The requester may no longer do this",
      `${row.requested_actor} no longer holds ${row.request_permission} (revoked, expired, disabled or its roles changed): the write does not run`,
    );
  }
}

/**
 * Whether the requester (key or user) still holds the permission the write
 * needs: an approval lends a second pair of eyes, not a permission.
 */
async function requesterStillMay(tx: Tx, row: ApprovalRow): Promise<boolean> {
  if (!row.request_permission) return true;
  const [kind, raw] = row.requested_by.split(":");
  const id = Number(raw);
  const r =
    kind === "key"
      ? await sql<{ ok: boolean }>`select exists (
          select 1 from api_keys k join api_key_roles kr on kr.api_key_id = k.id
          join role_permissions rp on rp.role_id = kr.role_id
          where k.id = ${id} and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
            and rp.permission = ${row.request_permission}) as ok`.execute(tx)
      : await sql<{ ok: boolean }>`select exists (
          select 1 from users u join user_roles ur on ur.user_id = u.id
          join role_permissions rp on rp.role_id = ur.role_id
          where u.id = ${id} and not u.disabled and rp.permission = ${row.request_permission}) as ok`.execute(
          tx,
        );
  return r.rows[0]?.ok === true;
}

/** JSON with object keys sorted, so jsonb's key order does not matter. */
function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

const SECRETS = new Set(["key", "password", "secret", "token"]);
/** Replies are kept with the approval and in the audit trail without the secrets they show once. */
function redact(body: unknown): unknown {
  if (!body || typeof body !== "object" || Array.isArray(body)) return body;
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([k, v]) => [k, SECRETS.has(k) ? "[redacted]" : v]),
  );
}

export interface RequestMeta {
  requestId?: string;
  ip?: string;
}

function audit(
  row: ApprovalRow,
  action: string,
  who: { actor: string; kind: "key" | "user" | "anonymous" },
  after: unknown,
  meta: RequestMeta,
): AuditEntry {
  return {
    actor: who.actor,
    actorKind: who.kind,
    action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    after,
    requestId: meta.requestId ?? null,
    ip: meta.ip ?? null,
    approvalId: row.id,
  };
}

async function lockApproval(tx: Tx, id: number): Promise<ApprovalRow> {
  const r = await sql<ApprovalRow>`select * from approvals where id = ${id} for update`.execute(tx);
  const row = r.rows[0];
  if (!row) throw new NotFound("approval", id);
  return row;
}

async function finish(tx: Tx, id: number, set: Record<string, unknown>): Promise<ApprovalRow> {
  const r = await sql<ApprovalRow>`
    update approvals set status = ${set.status}, decided_at = now(),
      decided_by = ${set.decided_by ?? null}, decided_actor = ${set.decided_actor ?? null},
      reason = ${set.reason ?? null}, result_status = ${set.result_status ?? null},
      result = ${set.result === undefined ? null : JSON.stringify(set.result)}::jsonb,
      failure = ${set.failure === undefined ? null : JSON.stringify(set.failure)}::jsonb
    where id = ${id} returning *`.execute(tx);
  return r.rows[0] as ApprovalRow;
}

const SYSTEM = { actor: "system:approvals", kind: "anonymous" as const };

async function expireLocked(tx: Tx, row: ApprovalRow, meta: RequestMeta = {}): Promise<ApprovalRow> {
  const done = await finish(tx, row.id, { status: "expired" });
  await recordAudit(tx, [audit(done, "approval.expire", SYSTEM, approvalView(done), meta)]);
  return done;
}

export interface Decided {
  approval: ApprovalView;
  /** Approve only: the executed write's reply, unredacted (shown once). */
  result?: { status: number; body: unknown };
}

/**
 * Approves or rejects a pending request, once. Under the request's row lock:
 * it must still be pending and unexpired, the decider must not be the
 * requester and must hold the policy's permission. Approving runs the write
 * in the same transaction (inside a savepoint): first the state it was asked
 * against is compared with the state now, then the kind's service function
 * runs with its own checks. If either refuses, the write's changes are rolled
 * back, the approval is marked failed with the reason, and that is committed;
 * the caller gets 409 `approval_failed` afterwards. Concurrent approvers
 * queue on the row lock; all but the first find it decided (409).
 */
export async function decideApproval(
  db: DB,
  id: number,
  principal: Principal,
  decision: "approve" | "reject",
  reason: string | undefined,
  meta: RequestMeta,
): Promise<Decided> {
  const who = { actor: principal.actor, kind: principal.kind };
  const outcome = await inTransaction(db, async (tx) => {
    const row = await lockApproval(tx, id);
    if (row.status !== "pending") throw new ApprovalNotPending(row);
    const expired = await sql<{
      due: boolean;
    }>`select ${row.expires_at}::timestamptz <= now() as due`.execute(tx);
    if (expired.rows[0]?.due) return { kind: "expired" as const, row: await expireLocked(tx, row, meta) };
    const me = principalId(principal);
    if (me === row.requested_by) throw new OwnRequest(row.id);
    authorize(principal.grants, row.approver_permission as never);
    await sql`insert into approval_decisions (approval_id, requested_by, decided_by, decision, reason)
              values (${row.id}, ${row.requested_by}, ${me}, ${decision}, ${reason ?? null})`.execute(tx);
    const decided = { decided_by: me, decided_actor: principal.actor, reason };
    if (decision === "reject") {
      const done = await finish(tx, row.id, { ...decided, status: "rejected" });
      await recordAudit(tx, [audit(done, "approval.reject", who, approvalView(done), meta)]);
      return { kind: "rejected" as const, row: done };
    }
    await recordAudit(tx, [audit(row, "approval.approve", who, { reason: reason ?? null }, meta)]);
    const def = APPROVAL_KINDS[row.kind as Kind] as unknown as {
      snapshot(tx: Tx, p: unknown): Promise<unknown>;
      execute(
        tx: Tx,
        p: unknown,
        ctx: { actor: string; grants: Principal["grants"] },
      ): Promise<{ status: number; body: unknown }>;
    };
    await sql`savepoint approval_execute`.execute(tx);
    try {
      if (!(await requesterStillMay(tx, row))) throw new RequesterCannot(row);
      const now = await def.snapshot(tx, row.payload);
      if (canonical(now) !== canonical(row.snapshot)) throw new Stale(row.snapshot, now);
      const result = await def.execute(tx, row.payload, {
        actor: row.requested_actor,
        grants: principal.grants,
      });
      await sql`release savepoint approval_execute`.execute(tx);
      const kept = redact(result.body);
      const done = await finish(tx, row.id, {
        ...decided,
        status: "executed",
        result_status: result.status,
        result: kept,
      });
      const requester = {
        actor: row.requested_actor,
        kind: row.requested_by.startsWith("key:") ? ("key" as const) : ("user" as const),
      };
      await recordAudit(tx, [audit(done, row.action, requester, kept, meta)]);
      return { kind: "executed" as const, row: done, result };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      await sql`rollback to savepoint approval_execute`.execute(tx);
      const failure = { code: err.code, status: err.status, detail: err.message };
      const done = await finish(tx, row.id, { ...decided, status: "failed", failure });
      await recordAudit(tx, [audit(done, "approval.fail", who, failure, meta)]);
      return { kind: "failed" as const, row: done, failure };
    }
  });
  const view = approvalView(outcome.row);
  if (outcome.kind === "expired") {
    throw new DomainError(
      409,
      "approval_expired",
      "Approval expired",
      `approval ${id} expired at ${view.expires_at}`,
      {
        approval: view,
      },
    );
  }
  if (outcome.kind === "failed") {
    throw new DomainError(
      409,
      "approval_failed",
      "Approved, but the write was refused",
      `approval ${id} was approved but could not run: ${outcome.failure.detail}`,
      { approval: view, failure: outcome.failure },
    );
  }
  return outcome.kind === "executed" ? { approval: view, result: outcome.result } : { approval: view };
}

/** The expiry job: pending requests past their time become expired, each audited, in one transaction per batch. */
export async function expireApprovals(db: DB, batch = 500): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const due = await sql<ApprovalRow>`
      select * from approvals where status = 'pending' and expires_at <= now()
      order by id limit ${batch} for update skip locked`.execute(tx);
    for (const row of due.rows) await expireLocked(tx, row);
    return due.rows.length;
  });
}

export async function getApproval(db: DB | Tx, id: number): Promise<ApprovalView> {
  const r = await sql<ApprovalRow>`select * from approvals where id = ${id}`.execute(db);
  if (!r.rows[0]) throw new NotFound("approval", id);
  return approvalView(r.rows[0]);
}

export async function listApprovals(
  db: DB,
  q: { status?: string; kind?: string; limit?: number; cursor?: string },
): Promise<{ data: ApprovalView[]; next_cursor: string | null }> {
  const limit = q.limit ?? 50;
  const r = await sql<ApprovalRow>`
    select * from approvals
    where (${q.status ?? null}::text is null or status = ${q.status ?? null})
      and (${q.kind ?? null}::text is null or kind = ${q.kind ?? null})
      and (${q.cursor ?? null}::bigint is null or id < ${q.cursor ?? null}::bigint)
    order by id desc limit ${limit + 1}`.execute(db);
  const rows = r.rows.slice(0, limit);
  return {
    data: rows.map(approvalView),
    next_cursor: r.rows.length > limit ? String(rows[rows.length - 1]?.id) : null,
  };
}
