import type { FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { recordAudit } from "../access/audit.js";
import type { Permission } from "../access/permissions.js";
import type { Tx } from "../db/tx.js";
import type { Principal } from "../http/auth.js";
import { Forbidden } from "../http/errors.js";
import type { WriteResult } from "../http/idempotency.js";
import type { ApprovalKind } from "./kind.js";
import { adminGrant } from "./kinds-access.js";
import { fraudHoldRelease, paidOrderCancel, purchaseOrder, refund } from "./kinds-money.js";
import { countVariance, stockAdjustment } from "./kinds-stock.js";
import { DEFAULT_APPROVER, type Kind, readApprovalSettings } from "./policies.js";
import { type ApprovalRow, approvalView } from "./view.js";

/** Every kind of held-back write, by the name its policy has in the settings. */
export const APPROVAL_KINDS: { [K in Kind]: ApprovalKind<never> } = {
  stock_adjustment: stockAdjustment as ApprovalKind<never>,
  refund: refund as ApprovalKind<never>,
  paid_order_cancel: paidOrderCancel as ApprovalKind<never>,
  fraud_hold_release: fraudHoldRelease as ApprovalKind<never>,
  purchase_order: purchaseOrder as ApprovalKind<never>,
  count_variance: countVariance as ApprovalKind<never>,
  admin_grant: adminGrant as ApprovalKind<never>,
};

/** Who decides may not be who asked: the same key, or the same user in any session. */
export function principalId(p: Principal): string {
  return p.apiKeyId != null ? `key:${p.apiKeyId}` : `user:${p.userId}`;
}

/** What a held-back write answers: 202 with the pending approval (its Location is set on the reply). */
export interface Held {
  approval: ReturnType<typeof approvalView>;
}

/**
 * The one call a gated write makes first, inside its write() transaction:
 * when the kind's policy is on and matches, the write is recorded as a
 * pending approval (audited in the same transaction) and this returns the
 * 202 to answer with; nothing else changes. Otherwise null, and the write
 * goes on as before. An approved request later runs the kind's `execute`,
 * never the route, so it does not come back here.
 */
export async function holdForApproval<P>(
  tx: Tx,
  req: FastifyRequest,
  reply: FastifyReply,
  kind: Kind,
  payload: P,
): Promise<WriteResult<never> | null> {
  const settings = await readApprovalSettings(tx);
  const policy = settings.policies[kind];
  if (!policy.enabled) return null;
  const def = APPROVAL_KINDS[kind] as unknown as ApprovalKind<P>;
  const match = await def.evaluate(tx, payload, policy);
  if (!match) return null;
  const principal = req.principal;
  if (!principal) throw new Forbidden("A write that needs an approval needs a signed-in user or an API key");
  const routePermission = req.routeOptions.config.permission;
  const configured = policy.approver_permission ?? DEFAULT_APPROVER[kind];
  const needed =
    typeof routePermission === "string" && routePermission !== "authenticated" ? routePermission : null;
  const approver = (configured === "as_requested" ? (needed ?? "users:manage") : configured) as Permission;
  const action = `${req.method} ${req.routeOptions.url ?? req.url}`;
  const inserted = await sql<ApprovalRow>`
    insert into approvals (kind, action, entity_type, entity_id, summary, payload, facts, snapshot,
      approver_permission, request_permission, requested_by, requested_actor, expires_at)
    values (${kind}, ${action}, ${match.entityType}, ${match.entityId}, ${match.summary},
      ${JSON.stringify(payload)}::jsonb, ${JSON.stringify(match.facts)}::jsonb,
      ${JSON.stringify(match.snapshot ?? null)}::jsonb, ${approver}, ${needed}, ${principalId(principal)},
      ${principal.actor}, now() + make_interval(hours => ${settings.expires_after_hours}))
    returning *`.execute(tx);
  const row = inserted.rows[0] as ApprovalRow;
  const view = approvalView(row);
  await recordAudit(tx, [
    {
      actor: principal.actor,
      actorKind: principal.kind,
      action: "approval.request",
      entityType: match.entityType,
      entityId: match.entityId,
      after: view,
      requestId: req.id,
      ip: req.ip,
      approvalId: row.id,
    },
  ]);
  reply.header("location", `/v1/approvals/${row.id}`).code(202);
  return { status: 202, body: { approval: view } as never };
}
