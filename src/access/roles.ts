import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { PERMISSIONS, type Permission } from "./permissions.js";
import "../db/schema-access.js";

/**
 * The built-in roles: the reference matrix (shared/reference/governance.md §1)
 * mapped onto Keel's permission strings. "r" (read-only) in the matrix is the
 * domain's read permission; "◐" (allowed up to a threshold) is allowed here,
 * the threshold being a four-eyes approval policy, not a role. Permissions the
 * matrix does not name (reservations, syncing, events, alerts…) go to the
 * roles whose work needs them. Admin holds every permission, including ones
 * added to the code later. These lists are written to role_permissions at
 * startup (`syncBuiltInRoles`), so the database always says what the code says.
 */
const ALL = Object.keys(PERMISSIONS) as Permission[];

export const BUILT_IN_ROLES: Record<string, { description: string; permissions: readonly Permission[] }> = {
  warehouse: {
    description: "Pick, pack and ship; receive purchase orders, transfers and returns; count stock",
    permissions: [
      "catalog:read",
      "inventory:read",
      "inventory:adjust",
      "inventory:transfer",
      "count:perform",
      "order:read",
      "fulfilment:execute",
      "return:receive",
      "po:read",
      "po:receive",
    ],
  },
  inventory_control: {
    description: "Stock accuracy: adjustments, transfers, counts and their approval",
    permissions: [
      "catalog:read",
      "inventory:read",
      "inventory:adjust",
      "inventory:transfer",
      "count:perform",
      "count:approve",
      "return:receive",
      "po:read",
      "reports:read",
      "alerts:manage",
      "approvals:read",
    ],
  },
  purchasing: {
    description: "Suppliers, purchase orders and replenishment",
    permissions: [
      "catalog:read",
      "inventory:read",
      "po:read",
      "po:write",
      "po:approve",
      "po:receive",
      "reports:read",
      "alerts:manage",
      "approvals:read",
    ],
  },
  finance: {
    description: "Money: order approval, cancellations, refunds, PO approval, reports and the audit trail",
    permissions: [
      "catalog:read",
      "inventory:read",
      "order:read",
      "order:write",
      "order:approve",
      "order:hold",
      "order:cancel",
      "refund:request",
      "refund:approve",
      "po:read",
      "po:approve",
      "reports:read",
      "finance:read",
      "audit:read",
      "approvals:read",
    ],
  },
  support: {
    description: "Customers' orders: holds, cancellations, returns and refund requests",
    permissions: [
      "catalog:read",
      "inventory:read",
      "order:read",
      "order:write",
      "order:approve",
      "order:hold",
      "order:cancel",
      "return:write",
      "return:receive",
      "refund:request",
      "refund:approve",
      "approvals:read",
    ],
  },
  catalog: {
    description: "Products, variants and locations",
    permissions: ["catalog:read", "catalog:write", "reports:read"],
  },
  ops_manager: {
    description: "Runs operations: everything but users, keys, settings and integrations (which it may see)",
    permissions: ALL.filter(
      (p) => !["settings:write", "integrations:manage", "users:manage", "keys:manage"].includes(p),
    ),
  },
  admin: { description: "Everything, including users, roles, keys and settings", permissions: ALL },
  integration: {
    description: "Shop and ERP connectors: catalog, stock, orders, fulfilment, returns and the event feed",
    permissions: [
      "catalog:read",
      "catalog:write",
      "inventory:read",
      "inventory:adjust",
      "inventory:transfer",
      "inventory:reserve",
      "inventory:sync",
      "order:read",
      "order:write",
      "order:cancel",
      "fulfilment:execute",
      "return:write",
      "return:receive",
      "refund:request",
      "po:read",
      "po:receive",
      "events:read",
      "integrations:read",
    ],
  },
};

/** What `createApiKey` gives a key when no roles are named: what every key could do before roles. */
export const DEFAULT_KEY_ROLES = ["integration", "admin"] as const;

const SYNC_LOCK = 0x6b65656c_726f6c65n; // "keelrole"

/**
 * Makes the built-in roles' rows equal the matrix above: creates missing
 * roles, adds and removes permissions. Idempotent and safe to run from
 * several processes at once (one at a time under an advisory lock); it
 * writes nothing when nothing changed.
 */
export async function syncBuiltInRoles(db: DB): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${SYNC_LOCK})`.execute(tx);
    const names = Object.keys(BUILT_IN_ROLES);
    const existing = await tx.selectFrom("roles").select(["id", "name"]).where("name", "in", names).execute();
    const missing = names.filter((n) => !existing.some((r) => r.name === n));
    if (missing.length > 0) {
      await tx
        .insertInto("roles")
        .values(
          missing.map((name) => ({
            name,
            description: BUILT_IN_ROLES[name]?.description ?? "",
            built_in: true,
          })),
        )
        .execute();
    }
    const have = await sql<{ name: string; permissions: string[] | null }>`
      select r.name, array_agg(rp.permission) filter (where rp.permission is not null) as permissions
      from roles r left join role_permissions rp on rp.role_id = r.id
      where r.name in (${sql.join(names)}) group by r.name`.execute(tx);
    for (const row of have.rows) {
      const want = new Set<string>(BUILT_IN_ROLES[row.name]?.permissions ?? []);
      const now = new Set(row.permissions ?? []);
      const add = [...want].filter((p) => !now.has(p));
      const remove = [...now].filter((p) => !want.has(p));
      if (add.length === 0 && remove.length === 0) continue;
      const role = tx.selectFrom("roles").select("id").where("name", "=", row.name);
      if (remove.length > 0) {
        await tx
          .deleteFrom("role_permissions")
          .where("role_id", "=", role)
          .where("permission", "in", remove)
          .execute();
      }
      if (add.length > 0) {
        await sql`insert into role_permissions (role_id, permission)
          select (select id from roles where name = ${row.name}), unnest(${add}::text[])`.execute(tx);
      }
      await tx
        .updateTable("roles")
        .set({ built_in: true, description: BUILT_IN_ROLES[row.name]?.description ?? "" })
        .where("name", "=", row.name)
        .execute();
    }
  });
}

export interface RoleView {
  id: number;
  name: string;
  description: string;
  built_in: boolean;
  permissions: string[];
}

export async function listRoles(db: DB | Tx): Promise<RoleView[]> {
  const rows = await sql<RoleView>`
    select r.id, r.name, r.description, r.built_in,
      coalesce(array_agg(rp.permission order by rp.permission) filter (where rp.permission is not null), '{}') as permissions
    from roles r left join role_permissions rp on rp.role_id = r.id
    group by r.id order by r.built_in desc, r.id`.execute(db);
  return rows.rows;
}

/** The ids of the named roles; a name that does not exist is reported, not skipped. */
export async function roleIds(
  tx: DB | Tx,
  names: readonly string[],
): Promise<{ ids: number[]; unknown: string[]; permissions: Set<string> }> {
  if (names.length === 0) return { ids: [], unknown: [], permissions: new Set() };
  const rows = await tx.selectFrom("roles").select(["id", "name"]).where("name", "in", names).execute();
  const perms =
    rows.length === 0
      ? []
      : await tx
          .selectFrom("role_permissions")
          .select("permission")
          .where(
            "role_id",
            "in",
            rows.map((r) => r.id),
          )
          .execute();
  return {
    ids: rows.map((r) => r.id),
    unknown: names.filter((n) => !rows.some((r) => r.name === n)),
    permissions: new Set(perms.map((p) => p.permission)),
  };
}
