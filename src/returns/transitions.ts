import type { Tx } from "../db/tx.js";
import { InvalidTransition } from "../http/errors.js";
import type { ReturnStatus } from "./tables.js";

/**
 * The return's life as one table: for each action, the statuses it may start
 * from and where it leads. Guards look at the return's numbers and give the
 * reason they refuse. Receiving and inspecting may happen in parts: the
 * status moves on when the last unit is in.
 */

export type ReturnAction = "authorize" | "reject" | "receive" | "inspect" | "refund" | "exchange" | "close";

export interface ReturnFacts {
  status: ReturnStatus;
  requested: number;
  received: number;
  inspected: number;
}

interface Rule {
  from: ReturnStatus[];
  /** where the action leads, given the facts after it */
  to: (f: ReturnFacts) => ReturnStatus;
  guard?: (f: ReturnFacts) => string | undefined;
}

export const RETURN_TRANSITIONS: Record<ReturnAction, Rule> = {
  authorize: { from: ["requested"], to: () => "authorised" },
  reject: { from: ["requested"], to: () => "rejected" },
  receive: {
    from: ["authorised", "received"],
    to: () => "received",
    guard: (f) => (f.received >= f.requested ? "every requested unit has been received" : undefined),
  },
  inspect: {
    from: ["received"],
    to: (f) => (f.inspected >= f.requested ? "inspected" : "received"),
    guard: (f) => (f.inspected >= f.received ? "every received unit has been inspected" : undefined),
  },
  refund: { from: ["authorised", "received", "inspected", "closed"], to: (f) => f.status },
  exchange: { from: ["authorised", "received", "inspected"], to: (f) => f.status },
  close: {
    from: ["inspected", "received"],
    to: () => "closed",
    guard: (f) => (f.inspected < f.received ? "received units still wait for inspection" : undefined),
  },
};

export function allowedActions(f: ReturnFacts): ReturnAction[] {
  return (Object.keys(RETURN_TRANSITIONS) as ReturnAction[]).filter((a) => {
    const rule = RETURN_TRANSITIONS[a];
    return rule.from.includes(f.status) && !rule.guard?.(f);
  });
}

/** Checks the action against the table; throws InvalidTransition naming what is allowed. */
export function checkAction(f: ReturnFacts, action: ReturnAction): void {
  const rule = RETURN_TRANSITIONS[action];
  const refusal = !rule.from.includes(f.status) ? `a ${f.status} return cannot ${action}` : rule.guard?.(f);
  if (refusal) {
    const allowed = allowedActions(f);
    throw new InvalidTransition(
      "return",
      f.status,
      action,
      allowed,
      `${refusal}; allowed: ${allowed.join(", ") || "none"}`,
    );
  }
}

export async function recordReturnStep(
  tx: Tx,
  returnId: number,
  step: {
    from: ReturnStatus | null;
    to: ReturnStatus;
    action: string;
    actor: string;
    reason?: string | null;
  },
): Promise<void> {
  await tx
    .insertInto("return_timeline")
    .values({
      return_id: returnId,
      from_status: step.from,
      to_status: step.to,
      action: step.action,
      actor: step.actor,
      reason: step.reason ?? null,
    })
    .execute();
  if (step.from !== step.to) {
    await tx
      .updateTable("returns")
      .set({ status: step.to, updated_at: new Date() })
      .where("id", "=", returnId)
      .execute();
  }
}
