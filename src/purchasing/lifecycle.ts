import type { PurchaseOrderStatus } from "../db/schema.js";
import { InvalidTransition } from "../http/errors.js";

/**
 * The purchase order state machine, as one table:
 *
 *   draft → submitted → partially_received → received → closed
 *   draft | submitted → cancelled
 *   partially_received → closed (short-closed: the rest is no longer expected)
 *   submitted → shipped (a drop-ship order: the supplier shipped to the customer)
 *
 * A drop-ship order is never received (nothing comes to a location) and is
 * never submitted by hand: placement raises it submitted (dropship.ts).
 *
 * Each action names the statuses it may start from and a guard that returns
 * a reason when the action is not possible for this order right now.
 */
export type PurchaseOrderAction = "submit" | "receive" | "cancel" | "close" | "ship";

export interface OrderFacts {
  status: PurchaseOrderStatus;
  lines: number;
  supplierActive: boolean;
  /** Units still expected over all lines. */
  outstanding: number;
  /** A drop-ship order (ships to a customer, not to a location). */
  dropship: boolean;
}

interface Transition {
  from: PurchaseOrderStatus[];
  /** The status after the action; `receive` decides between partially_received and received. */
  to: PurchaseOrderStatus | "by_receipt";
  /** Which orders the action is for: drop-ship ones, stock ones, or both (unset). */
  only?: "dropship" | "stock";
  guard?: (po: OrderFacts) => string | undefined;
}

export const TRANSITIONS: Record<PurchaseOrderAction, Transition> = {
  submit: {
    from: ["draft"],
    to: "submitted",
    guard: (po) =>
      po.lines === 0
        ? "a purchase order needs at least one line to be submitted"
        : !po.supplierActive
          ? "the supplier is inactive"
          : undefined,
  },
  receive: { from: ["submitted", "partially_received"], to: "by_receipt", only: "stock" },
  // a drop-ship order goes when its customer orders are cancelled (dropship.ts), not by hand
  cancel: {
    from: ["draft", "submitted"],
    to: "cancelled",
    only: "stock",
  },
  close: { from: ["partially_received", "received"], to: "closed", only: "stock" },
  ship: {
    from: ["submitted"],
    to: "shipped",
    only: "dropship",
    guard: (po) => (po.outstanding === 0 ? "no line is left to ship" : undefined),
  },
};

const fits = (t: Transition, dropship: boolean) => !t.only || (t.only === "dropship") === dropship;

/** The actions an order in `status` allows, for error messages and the API's `allowed_actions`. */
export function allowedActions(status: PurchaseOrderStatus, dropship = false): PurchaseOrderAction[] {
  return (Object.keys(TRANSITIONS) as PurchaseOrderAction[]).filter(
    (a) => TRANSITIONS[a].from.includes(status) && fits(TRANSITIONS[a], dropship),
  );
}

/** Throws 409 invalid_transition, naming the allowed actions, unless `action` may run now. */
export function assertTransition(po: OrderFacts, action: PurchaseOrderAction): void {
  const t = TRANSITIONS[action];
  const allowed = allowedActions(po.status, po.dropship);
  if (!fits(t, po.dropship)) {
    throw new InvalidTransition(
      "purchase order",
      po.status,
      action,
      allowed,
      po.dropship
        ? `a drop-ship purchase order ships to the customer and cannot ${action}; allowed: ${allowed.join(", ") || "none"}`
        : `only a drop-ship purchase order can ${action}; allowed: ${allowed.join(", ") || "none"}`,
    );
  }
  if (!t.from.includes(po.status)) {
    throw new InvalidTransition("purchase order", po.status, action, allowed);
  }
  const reason = t.guard?.(po);
  if (reason) {
    throw new InvalidTransition(
      "purchase order",
      po.status,
      action,
      allowed,
      `purchase order in status ${po.status} cannot ${action}: ${reason}`,
    );
  }
}

/** Status after a receipt: everything ordered has arrived, or not yet. */
export function statusAfterReceipt(outstandingAfter: number): PurchaseOrderStatus {
  return outstandingAfter <= 0 ? "received" : "partially_received";
}
