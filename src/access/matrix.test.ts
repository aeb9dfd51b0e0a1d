import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type TestContext, testApp } from "../../test/helpers.js";
import { createApiKey } from "../http/auth.js";
import { documentedPermission } from "./guard.js";
import type { Permission } from "./permissions.js";
import { BUILT_IN_ROLES } from "./roles.js";

/**
 * The reference matrix (shared/reference/governance.md §1), cell by cell:
 * x = allowed (● or ◐; the threshold is an approval policy, not a role),
 * r = read-only (the domain's read permission, not this one), - = none.
 * Columns: warehouse, inventory_control, purchasing, finance, support,
 * catalog, ops_manager, admin.
 */
const COLUMNS = [
  "warehouse",
  "inventory_control",
  "purchasing",
  "finance",
  "support",
  "catalog",
  "ops_manager",
  "admin",
] as const;
const REFERENCE: Array<[Permission, string, Permission | null]> = [
  ["catalog:write", "rrrrrxxx", "catalog:read"],
  ["inventory:adjust", "xx-r--xx", "inventory:read"],
  ["inventory:transfer", "xx----xx", null],
  ["count:perform", "xx-r--xx", "inventory:read"],
  ["count:approve", "-x-r--xx", "inventory:read"],
  ["order:approve", "---xx-xx", null],
  ["order:hold", "---xx-xx", null],
  ["order:cancel", "---xx-xx", null],
  ["fulfilment:execute", "x---r-xx", "order:read"],
  ["return:receive", "xx-rx-xx", "order:read"],
  ["refund:request", "---xx-xx", null],
  ["refund:approve", "---xx-xx", null],
  ["po:write", "-rxr--xx", "po:read"],
  ["po:approve", "-rxx--xx", "po:read"],
  ["po:receive", "xrx---xx", "po:read"],
  ["settings:write", "------rx", "settings:read"],
  ["integrations:manage", "------rx", "integrations:read"],
  ["users:manage", "-------x", null],
  ["keys:manage", "-------x", null],
  ["reports:read", "-xxx-xxx", null],
  ["audit:read", "---x--xx", null],
];

describe("the built-in roles follow the reference matrix", () => {
  it.each(REFERENCE)("%s", (permission, cells, read) => {
    COLUMNS.forEach((role, i) => {
      const has = new Set<string>(BUILT_IN_ROLES[role]?.permissions);
      const cell = cells[i];
      expect(has.has(permission), `${role} ${permission} (${cell})`).toBe(cell === "x");
      if (cell === "r") expect(has.has(read as string), `${role} ${read}`).toBe(true);
    });
  });
});

let t: TestContext;
let base: string;
beforeAll(async () => {
  t = await testApp();
  base = await listen(t);
});
afterAll(() => t.close());

interface Operation {
  method: string;
  path: string;
  permission: Permission | "authenticated";
}

/**
 * Every operation of the OpenAPI document × every built-in role, through a
 * key holding only that role, with a body and parameters that cannot pass
 * validation: the guard runs in onRequest, before validation and the handler,
 * so the answer is 403 `forbidden` exactly when the role lacks the route's
 * permission — and never 403 when it has it (the request then fails
 * validation, finds nothing, or succeeds harmlessly).
 */
describe("every route × every built-in role", () => {
  it("answers 403 forbidden exactly when the role lacks the route's permission", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { security?: unknown; "x-permission"?: string }>>;
    };
    const operations: Operation[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, op] of Object.entries(ops)) {
        const permission = documentedPermission(op);
        if (permission === null || permission === undefined) continue; // public
        operations.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "0"), permission });
      }
    }
    expect(operations.length).toBeGreaterThan(80);

    const mismatches: string[] = [];
    let checked = 0;
    let deniedCount = 0;
    const statuses = { allowed: new Set<number>(), denied: new Set<number>() };
    for (const [role, def] of Object.entries(BUILT_IN_ROLES)) {
      const { key } = await createApiKey(t.db, `only-${role}`, { roles: [role] });
      const grants = new Set<string>(def.permissions);
      for (const op of operations) {
        const status = await send(op, key);
        const expectDenied = op.permission !== "authenticated" && !grants.has(op.permission);
        const denied = status.code === 403;
        if (denied !== expectDenied || (denied && status.problem !== "forbidden")) {
          mismatches.push(
            `${role}: ${op.method} ${op.path} (${op.permission}) → ${status.code} ${status.problem ?? ""}`,
          );
        }
        statuses[denied ? "denied" : "allowed"].add(status.code);
        if (denied) deniedCount++;
        checked++;
      }
    }
    expect(mismatches).toEqual([]);
    // both sides were exercised: denials, and permitted requests that got past the guard
    expect(deniedCount).toBeGreaterThan(operations.length);
    expect(statuses.denied).toEqual(new Set([403]));
    expect([...statuses.allowed].some((c) => c >= 200 && c < 300)).toBe(true);
    expect([...statuses.allowed].some((c) => c === 400 || c === 404)).toBe(true);
    expect(checked).toBe(operations.length * Object.keys(BUILT_IN_ROLES).length);
  }, 240_000);
});

async function send(op: Operation, key: string): Promise<{ code: number; problem?: string }> {
  const headers = { authorization: `Bearer ${key}` };
  if (op.path.endsWith("/stream")) {
    // a live stream never ends: read the status line over real HTTP and hang up
    const abort = new AbortController();
    const res = await fetch(`${base}${op.path}`, { method: op.method, headers, signal: abort.signal });
    const problem = res.status >= 400 ? ((await res.json()) as { code?: string }).code : undefined;
    abort.abort();
    return { code: res.status, problem };
  }
  const hasBody = !["GET", "HEAD", "DELETE"].includes(op.method);
  const res = await t.app.inject({
    method: op.method as "GET",
    url: op.path,
    headers: hasBody ? { ...headers, "content-type": "application/json" } : headers,
    ...(hasBody ? { payload: '{"__invalid__": true}' } : {}),
  });
  let problem: string | undefined;
  try {
    problem = res.statusCode >= 400 ? (res.json() as { code?: string }).code : undefined;
  } catch {
    problem = undefined;
  }
  return { code: res.statusCode, problem };
}
