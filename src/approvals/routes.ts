import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { Unauthorized } from "../http/errors.js";
import { write } from "../http/idempotency.js";
import { Problem } from "../orders/view-schema.js";
import { decideApproval, getApproval, listApprovals } from "./decisions.js";
import {
  ApprovalSettings,
  ApprovalSettingsPatch,
  KINDS,
  readApprovalSettings,
  updateApprovalSettings,
} from "./policies.js";
import { Approval, STATUSES } from "./view.js";

const tags = ["approvals"];
const problems = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
const DecisionBody = z.strictObject({ reason: z.string().min(1).max(500).optional() }).nullish();

/** Four-eyes approvals: the queue, a request, approving and rejecting it, and the policies. */
export async function approvalRoutes(app: App, { db }: AppDeps) {
  app.get(
    "/v1/approvals",
    {
      schema: {
        security: requires("approvals:read"),
        tags,
        summary: "Approval requests, newest first",
        querystring: z.strictObject({
          status: z.enum(STATUSES).optional(),
          kind: z.enum(KINDS).optional(),
          limit: z.coerce.number().int().min(1).max(200).optional(),
          cursor: z
            .string()
            .regex(/^\d{1,15}$/)
            .optional(),
        }),
        response: {
          200: z.object({ data: z.array(Approval), next_cursor: z.string().nullable() }),
          ...problems,
        },
      },
    },
    async (req) => listApprovals(db, req.query),
  );

  app.get(
    "/v1/approvals/:id",
    {
      schema: {
        security: requires("approvals:read"),
        tags,
        summary: "One approval request: what it would do, its status and outcome",
        params: IdParams,
        response: { 200: Approval, ...problems },
      },
    },
    async (req) => getApproval(db, req.params.id),
  );

  for (const decision of ["approve", "reject"] as const) {
    app.post(
      `/v1/approvals/:id/${decision}`,
      {
        schema: {
          security: requires("approvals:read"),
          tags,
          summary:
            decision === "approve"
              ? "Approve a pending request: the held-back write runs now, exactly once"
              : "Reject a pending request: nothing is written",
          description:
            "Only another principal than the requester (403 `approval_own_request`) holding the request's " +
            "`approver_permission` (403 `forbidden`) may decide, once (409 `approval_not_pending`). " +
            (decision === "approve"
              ? "The write runs against the state of now: when that changed since the request, or the write's " +
                "own checks refuse it, the approval is marked failed with the reason and this answers 409 " +
                "`approval_failed`. No Idempotency-Key: a retry after success finds it decided (409)."
              : ""),
          params: IdParams,
          body: DecisionBody,
          response: {
            200: z.object({
              approval: Approval,
              result: z
                .object({ status: z.number(), body: z.unknown() })
                .optional()
                .describe("approve: the executed write's reply, as it would have answered"),
            }),
            ...problems,
          },
        },
      },
      async (req) => {
        if (!req.principal) throw new Unauthorized();
        return decideApproval(db, req.params.id, req.principal, decision, req.body?.reason, {
          requestId: req.id,
          ip: req.ip,
        });
      },
    );
  }

  app.get(
    "/v1/settings/approvals",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "The four-eyes policies",
        response: { 200: ApprovalSettings },
      },
    },
    async () => readApprovalSettings(db),
  );

  app.put(
    "/v1/settings/approvals",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "Switch four-eyes policies on or off and set their thresholds (any subset)",
        body: ApprovalSettingsPatch,
        response: { 200: ApprovalSettings, ...problems },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await updateApprovalSettings(tx, req.body),
      })),
  );
}
