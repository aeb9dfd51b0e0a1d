import type { CountStatus } from "../db/schema.js";
import { InvalidTransition } from "../http/errors.js";

/**
 * The cycle count state machine, as one table:
 *
 *   open ─record─▶ open ─submit─▶ submitted ─approve─▶ approved
 *                       └─submit (no variance over the thresholds)─▶ approved
 *   open | submitted ─cancel─▶ cancelled
 */
export type CountAction = "record" | "submit" | "approve" | "cancel";

export const COUNT_TRANSITIONS: Record<CountAction, { from: CountStatus[] }> = {
  record: { from: ["open"] },
  submit: { from: ["open"] },
  approve: { from: ["submitted"] },
  cancel: { from: ["open", "submitted"] },
};

export function countActions(status: CountStatus): CountAction[] {
  return (Object.keys(COUNT_TRANSITIONS) as CountAction[]).filter((a) =>
    COUNT_TRANSITIONS[a].from.includes(status),
  );
}

export function assertCountTransition(status: CountStatus, action: CountAction): void {
  if (!COUNT_TRANSITIONS[action].from.includes(status)) {
    throw new InvalidTransition("count", status, action, countActions(status));
  }
}
