import { sql } from "kysely";
import { roleIds } from "../access/roles.js";
import { assertMayGrant, createUser, updateUser } from "../access/users.js";
import type { Tx } from "../db/tx.js";
import { createApiKey } from "../http/auth.js";
import { NotFound, ValidationFailed } from "../http/errors.js";
import type { ApprovalKind } from "./kind.js";

export const ADMIN_ROLE = "admin";

/**
 * PATCH /v1/users/{id} giving a user the admin role they do not have, or
 * POST /v1/api-keys making a key with it.
 */
export type AdminGrantPayload =
  | { target: "user"; id: number; change: { name?: string; roles?: string[]; disabled?: boolean } }
  | { target: "key"; name: string; roles: string[]; expires_at?: string }
  | { target: "new_user"; email: string; name: string; roles: string[]; password?: string };

async function userState(tx: Tx, id: number) {
  const r = await sql<{ disabled: boolean; roles: string[] }>`
    select u.disabled, coalesce((select array_agg(ro.name order by ro.name) from user_roles ur
      join roles ro on ro.id = ur.role_id where ur.user_id = u.id), '{}') as roles
    from users u where u.id = ${id} for update`.execute(tx);
  return r.rows[0] ?? null;
}

/** Granting admin: the user's roles and disabled flag are re-checked at execution; a new key has no state. */
export const adminGrant: ApprovalKind<AdminGrantPayload> = {
  async evaluate(tx, p) {
    if (p.target === "new_user") {
      if (!p.roles.includes(ADMIN_ROLE)) return null;
      // a password would be kept in plain text with the request until it is decided
      if (p.password !== undefined) {
        throw new ValidationFailed([
          {
            path: "body.password",
            message:
              "creating an admin needs an approval: leave the password out, one is generated on approval and shown to the approver once (or create the user without admin, then grant it)",
          },
        ]);
      }
      return {
        summary: `create user ${p.email} with roles ${p.roles.join(", ")}`,
        facts: { roles: p.roles },
        entityType: "users",
        entityId: p.email,
        snapshot: null,
      };
    }
    if (p.target === "key") {
      if (!p.roles.includes(ADMIN_ROLE)) return null;
      return {
        summary: `create API key ${JSON.stringify(p.name)} with roles ${p.roles.join(", ")}`,
        facts: { roles: p.roles },
        entityType: "api-keys",
        entityId: p.name,
        snapshot: null,
      };
    }
    if (!p.change.roles?.includes(ADMIN_ROLE)) return null;
    const state = await userState(tx, p.id);
    if (!state) throw new NotFound("user", p.id);
    if (state.roles.includes(ADMIN_ROLE)) return null;
    return {
      summary: `give user ${p.id} the roles ${p.change.roles.join(", ")} (now ${state.roles.join(", ") || "none"})`,
      facts: { roles_now: state.roles, roles: p.change.roles },
      entityType: "users",
      entityId: String(p.id),
      snapshot: state,
    };
  },
  async snapshot(tx, p) {
    return p.target === "user" ? userState(tx, p.id) : null;
  },
  async execute(tx, p, ctx) {
    if (p.target === "new_user") {
      const { user, password } = await createUser(tx, p, ctx.grants);
      return { status: 201, body: { ...user, ...(password ? { password } : {}) } };
    }
    if (p.target === "user") {
      return { status: 200, body: await updateUser(tx, p.id, p.change, ctx.grants) };
    }
    // the approver cannot hand out more than they hold
    assertMayGrant(ctx.grants, (await roleIds(tx, p.roles)).permissions);
    const expiresAt = p.expires_at ? new Date(p.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new ValidationFailed([
        { path: "body.expires_at", message: "has passed while the approval waited" },
      ]);
    }
    const created = await createApiKey(tx, p.name, { roles: p.roles, expiresAt });
    return {
      status: 201,
      body: {
        id: created.id,
        name: p.name,
        prefix: created.prefix,
        roles: [...p.roles].sort(),
        expires_at: expiresAt?.toISOString() ?? null,
        key: created.key,
      },
    };
  },
};
