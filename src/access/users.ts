import { sql } from "kysely";
import { z } from "zod";
import type { DB } from "../db/pool.js";
import { pgErrorCode, type Tx } from "../db/tx.js";
import { Conflict, Forbidden, NotFound, ValidationFailed } from "../http/errors.js";
import type { Grants } from "./guard.js";
import { generatePassword, hashPassword } from "./passwords.js";
import { roleIds } from "./roles.js";
import { endSessionsOf } from "./sessions.js";
import "../db/schema-access.js";

export interface UserView {
  id: number;
  email: string;
  name: string;
  roles: string[];
  disabled: boolean;
  totp_enabled: boolean;
  created_at: string;
  updated_at: string;
}

const userQuery = (db: DB | Tx) =>
  db.selectFrom("users as u").select([
    "u.id",
    "u.email",
    "u.name",
    "u.disabled",
    "u.created_at",
    "u.updated_at",
    sql<boolean>`u.totp_secret is not null`.as("totp_enabled"),
    sql<string[]>`coalesce((select array_agg(r.name order by r.name) from user_roles ur
        join roles r on r.id = ur.role_id where ur.user_id = u.id), '{}')`.as("roles"),
  ]);

type UserRow = Awaited<ReturnType<ReturnType<typeof userQuery>["executeTakeFirstOrThrow"]>>;
const view = (r: UserRow): UserView => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export async function listUsers(db: DB): Promise<UserView[]> {
  return (await userQuery(db).orderBy("u.id").execute()).map(view);
}

export async function getUser(db: DB | Tx, id: number): Promise<UserView> {
  const row = await userQuery(db).where("u.id", "=", id).executeTakeFirst();
  if (!row) throw new NotFound("user", id);
  return view(row);
}

/**
 * No one hands out more than they hold: the roles granted must not carry a
 * permission the granting principal lacks (so only an admin makes admins).
 */
export function assertMayGrant(grants: Grants | undefined, rolePermissions: Set<string>): void {
  if (grants === undefined || grants === "all") return;
  const missing = [...rolePermissions].filter((p) => !grants.has(p as never));
  if (missing.length > 0) {
    throw new Forbidden(
      `You cannot grant roles with permissions you do not hold: ${missing.sort().join(", ")}`,
    );
  }
}

async function resolveRoles(tx: DB | Tx, names: readonly string[], grants?: Grants) {
  const found = await roleIds(tx, names);
  if (found.unknown.length > 0) {
    throw new ValidationFailed(found.unknown.map((r) => ({ path: "body.roles", message: `no role ${r}` })));
  }
  assertMayGrant(grants, found.permissions);
  return found.ids;
}

/** Creates a user; without a password one is generated and returned (once). */
export async function createUser(
  tx: Tx,
  input: { email: string; name: string; roles: readonly string[]; password?: string },
  grants?: Grants,
): Promise<{ user: UserView; password?: string }> {
  const ids = await resolveRoles(tx, input.roles, grants);
  const generated = input.password === undefined ? generatePassword() : undefined;
  const passwordHash = await hashPassword(input.password ?? (generated as string));
  let id: number;
  try {
    id = (
      await tx
        .insertInto("users")
        .values({ email: input.email.trim(), name: input.name, password_hash: passwordHash })
        .returning("id")
        .executeTakeFirstOrThrow()
    ).id;
  } catch (err) {
    if (pgErrorCode(err) === "23505") throw new Conflict(`A user with e-mail ${input.email} exists already`);
    throw err;
  }
  if (ids.length > 0) {
    await tx
      .insertInto("user_roles")
      .values(ids.map((role_id) => ({ user_id: id, role_id })))
      .execute();
  }
  return { user: await getUser(tx, id), ...(generated ? { password: generated } : {}) };
}

/** Changes a user's name, roles or disabled flag; disabling ends every session of theirs in the same transaction. */
export async function updateUser(
  tx: Tx,
  id: number,
  change: { name?: string; roles?: readonly string[]; disabled?: boolean },
  grants?: Grants,
): Promise<UserView> {
  const locked = await tx
    .selectFrom("users")
    .select("id")
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
  if (!locked) throw new NotFound("user", id);
  if (change.roles) {
    const ids = await resolveRoles(tx, change.roles, grants);
    await tx.deleteFrom("user_roles").where("user_id", "=", id).execute();
    if (ids.length > 0) {
      await tx
        .insertInto("user_roles")
        .values(ids.map((role_id) => ({ user_id: id, role_id })))
        .execute();
    }
  }
  await tx
    .updateTable("users")
    .set({
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", id)
    .execute();
  if (change.disabled) await endSessionsOf(tx, id);
  return getUser(tx, id);
}

/** The user with this e-mail (any case), with the hash to check a password against. */
export async function findUserForLogin(db: DB, email: string) {
  return db
    .selectFrom("users")
    .select([
      "id",
      "email",
      "name",
      "password_hash",
      "disabled",
      sql<boolean>`totp_secret is not null`.as("totp"),
    ])
    .where(sql<string>`lower(email)`, "=", email.trim().toLowerCase())
    .executeTakeFirst();
}

/**
 * Sets a new password (break-glass: `keel user reset-password`), re-enables
 * nothing by itself, and ends the user's sessions. Returns the user's id.
 */
export async function setPassword(tx: Tx, email: string, password: string): Promise<number> {
  const row = await tx
    .updateTable("users")
    .set({ password_hash: await hashPassword(password), updated_at: new Date() })
    .where(sql<string>`lower(email)`, "=", email.trim().toLowerCase())
    .returning("id")
    .executeTakeFirst();
  if (!row) throw new NotFound("user", email);
  await endSessionsOf(tx, row.id);
  return row.id;
}

/** A user as every route answers it (never the password hash or the TOTP secret). */
export const User = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  totp_enabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
