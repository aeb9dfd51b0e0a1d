import type { Grants } from "../access/guard.js";
import type { Tx } from "../db/tx.js";
import type { WriteResult } from "../http/idempotency.js";
import type { Policy } from "./policies.js";

/** Why a policy holds a write back: shown on the approval, kept with it. */
export interface Match {
  summary: string;
  facts: Record<string, unknown>;
  entityType: string;
  entityId: string;
  /**
   * The state the request was made against (locked rows, read in the
   * request's transaction). Execution reads it again under the same locks
   * and refuses to run when it differs: a stale approval fails cleanly.
   * null: nothing beyond the write's own checks.
   */
  snapshot: unknown;
}

export interface ExecuteContext {
  /** Who asked: the ledger, timelines and the executed write's audit row name them. */
  actor: string;
  /** What the approver holds: grants are checked against it (you cannot approve more than you hold). */
  grants: Grants;
}

/**
 * One kind of held-back write: when its policy matches, the state to re-check,
 * and how to run it later. `evaluate` and `snapshot` run in a transaction and
 * lock what they read; `execute` calls the same service function the route
 * calls, so it re-validates everything against the state at that moment.
 */
export interface ApprovalKind<P> {
  evaluate(tx: Tx, payload: P, policy: Policy): Promise<Match | null>;
  snapshot(tx: Tx, payload: P): Promise<unknown>;
  execute(tx: Tx, payload: P, ctx: ExecuteContext): Promise<WriteResult<unknown>>;
}

/** Above the threshold (null: any value matches). */
export const above = (value: number, policy: Policy): boolean =>
  policy.threshold === null || value > policy.threshold;
