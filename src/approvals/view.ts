import { z } from "zod";
import { KINDS } from "./policies.js";

export const STATUSES = ["pending", "rejected", "expired", "executed", "failed"] as const;

export interface ApprovalRow {
  id: number;
  kind: string;
  status: (typeof STATUSES)[number];
  action: string;
  entity_type: string | null;
  entity_id: string | null;
  summary: string;
  payload: unknown;
  facts: Record<string, unknown>;
  snapshot: unknown;
  approver_permission: string;
  request_permission: string | null;
  requested_by: string;
  requested_actor: string;
  requested_at: Date;
  expires_at: Date;
  decided_by: string | null;
  decided_actor: string | null;
  decided_at: Date | null;
  reason: string | null;
  result_status: number | null;
  result: unknown;
  failure: { code: string; status: number; detail: string } | null;
}

export const Approval = z.object({
  id: z.number(),
  kind: z.enum(KINDS),
  status: z.enum(STATUSES),
  action: z.string().describe("the write held back, as method and route"),
  entity_type: z.string().nullable(),
  entity_id: z.string().nullable(),
  summary: z.string().describe("what it would do"),
  payload: z.unknown().describe("what the write runs with when approved"),
  facts: z.record(z.string(), z.unknown()).describe("why the policy matched"),
  approver_permission: z.string().describe("what an approver must hold (besides approvals:read)"),
  requested_by: z.string(),
  requested_at: z.string(),
  expires_at: z.string(),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  reason: z.string().nullable(),
  result: z
    .object({ status: z.number(), body: z.unknown() })
    .nullable()
    .describe("the executed write's reply (secrets shown once, to the approver, then redacted)"),
  failure: z
    .object({ code: z.string(), status: z.number(), detail: z.string() })
    .nullable()
    .describe("why execution refused: the state changed, or the write's own checks failed"),
  url: z.string(),
});
export type ApprovalView = z.infer<typeof Approval>;

export function approvalView(r: ApprovalRow): ApprovalView {
  return {
    id: r.id,
    kind: r.kind as ApprovalView["kind"],
    status: r.status,
    action: r.action,
    entity_type: r.entity_type,
    entity_id: r.entity_id,
    summary: r.summary,
    payload: r.payload,
    facts: r.facts,
    approver_permission: r.approver_permission,
    requested_by: r.requested_actor,
    requested_at: new Date(r.requested_at).toISOString(),
    expires_at: new Date(r.expires_at).toISOString(),
    decided_by: r.decided_actor,
    decided_at: r.decided_at ? new Date(r.decided_at).toISOString() : null,
    reason: r.reason,
    result: r.result_status === null ? null : { status: r.result_status, body: r.result },
    failure: r.failure,
    url: `/v1/approvals/${r.id}`,
  };
}

/** The 202 a held-back write answers. */
export const PendingApproval = z
  .object({ approval: Approval })
  .describe("held for a four-eyes approval: nothing changed; see Location");
export const pendingApproval = { 202: PendingApproval };
