/**
 * Every permission Keel knows, in one place. Routes declare the one they need
 * with `security: requires("order:approve")` in their schema; roles (data, in
 * the database) grant sets of these strings; anything not granted is denied.
 * The OpenAPI document carries each operation's permission in its security
 * requirement (OpenAPI 3.1 allows role names for non-OAuth schemes).
 */
export const PERMISSIONS = {
  "catalog:read": "see products, variants and locations",
  "catalog:write": "create and change products, variants and locations",
  "inventory:read": "see stock levels, availability and the movement ledger",
  "inventory:adjust": "adjust stock (on hand, quarantine, damaged, safety stock)",
  "inventory:transfer": "move stock between locations and receive transfers",
  "inventory:reserve": "hold and release stock for carts and checkouts",
  "inventory:sync": "push absolute stock levels from an ERP or WMS",
  "count:perform": "start cycle counts and enter counted quantities",
  "count:approve": "approve count variances",
  "order:read": "see orders, their timelines, allocations and fulfilments",
  "order:write": "place, import and edit orders, record payments",
  "order:approve": "approve received orders",
  "order:hold": "put orders on hold and release holds",
  "order:cancel": "cancel orders or some of their units",
  "fulfilment:execute": "create fulfilments, pick, pack, ship and deliver them",
  "return:write": "request, authorise and reject returns",
  "return:receive": "receive and inspect returned units",
  "refund:request": "request refunds",
  "refund:approve": "approve refunds",
  "po:read": "see suppliers, purchase orders, receipts and replenishment",
  "po:write": "create suppliers, supplier items, purchase orders and reorder rules",
  "po:approve": "approve purchase orders",
  "po:receive": "book receipts against purchase orders",
  "reports:read": "see reports, the dashboard and alerts",
  "alerts:manage": "acknowledge alerts and manage notification targets",
  "finance:read": "see invoices, credit notes and the journal",
  "events:read": "read the event feed and its live stream",
  "integrations:read": "see channels, webhook subscriptions, deliveries, imports and integration health",
  "integrations:manage": "create and change channels, webhooks, imports and retries",
  "settings:read": "see settings",
  "settings:write": "change settings",
  "audit:read": "read the audit trail",
  "approvals:read": "see approval requests",
  "users:manage": "create and change users and roles",
  "keys:manage": "create, rotate and revoke API keys",
} as const;

export type Permission = keyof typeof PERMISSIONS;

/** The security requirement a route declares in its schema: an API key or a session with the permission. */
export function requires(permission: Permission): Array<Record<string, string[]>> {
  return [{ bearer: [permission] }, { session: [permission] }];
}

/** For routes any signed-in user or valid key may call, whatever its roles (`GET /v1/me`). */
export const AUTHENTICATED: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];

/** For the few routes anyone may call (storefront, inbound channel webhooks verified by signature). */
export const PUBLIC: Array<Record<string, string[]>> = [];
