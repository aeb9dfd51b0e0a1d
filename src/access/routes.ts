import type { FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { holdForApproval } from "../approvals/gate.js";
import { pendingApproval } from "../approvals/view.js";
import type { DB } from "../db/pool.js";
import { inTransaction, pgErrorCode, type Tx } from "../db/tx.js";
import type { App, AppDeps } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { Conflict, NotFound, ValidationFailed } from "../http/errors.js";
import { write } from "../http/idempotency.js";
import { Problem } from "../orders/view-schema.js";
import { auditEntryFor, recordAudit } from "./audit.js";
import { mfaRoutes } from "./mfa-routes.js";
import { MAX_PASSWORD, MIN_PASSWORD } from "./passwords.js";
import { PERMISSIONS, requires } from "./permissions.js";
import { listRoles, roleIds } from "./roles.js";
import { sessionRoutes } from "./session-routes.js";
import { assertMayGrant, createUser, getUser, listUsers, User, updateUser } from "./users.js";
import "../db/schema-access.js";

const problems = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.coerce.number().int().positive() });
const RoleName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, "lower-case letters, digits and _ (e.g. night_shift)");
const Roles = z.array(RoleName).max(50);

const Role = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string(),
  built_in: z.boolean(),
  permissions: z.array(z.string()),
});
const ApiKey = z.object({
  id: z.number(),
  name: z.string(),
  prefix: z.string(),
  roles: z.array(z.string()),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

/**
 * A write whose reply carries a secret shown once (an API key, a generated
 * password): one transaction with its audit row (the secret redacted), but no
 * Idempotency-Key record, which would keep the secret in plain text for a day.
 */
async function writeSecret<T>(
  db: DB,
  req: FastifyRequest,
  reply: FastifyReply,
  change: (tx: Tx) => Promise<T>,
): Promise<T> {
  const body = await inTransaction(db, async (tx) => {
    const result = await change(tx);
    await recordAudit(tx, [auditEntryFor(req, result)]);
    return result;
  });
  // a write held for a four-eyes approval has set its 202 already
  if (reply.statusCode !== 202) reply.code(201);
  return body;
}

async function apiKeyView(db: DB | Tx, id?: number) {
  const rows = await sql<{
    id: number;
    name: string;
    prefix: string;
    roles: string[];
    created_at: Date;
    expires_at: Date | null;
    revoked_at: Date | null;
  }>`
    select k.id, k.name, k.prefix, k.created_at, k.expires_at, k.revoked_at,
      coalesce((select array_agg(r.name order by r.name) from api_key_roles kr
        join roles r on r.id = kr.role_id where kr.api_key_id = k.id), '{}') as roles
    from api_keys k ${id === undefined ? sql`` : sql`where k.id = ${id}`} order by k.id`.execute(db);
  return rows.rows.map((r) => ({
    ...r,
    created_at: r.created_at.toISOString(),
    expires_at: r.expires_at?.toISOString() ?? null,
    revoked_at: r.revoked_at?.toISOString() ?? null,
  }));
}

/** Roles, API keys, users, sign-in and two-factor: everything of src/access over HTTP. */
export async function accessRoutes(app: App, deps: AppDeps) {
  const { db } = deps;
  await sessionRoutes(app, deps);
  await mfaRoutes(app, deps);
  app.get(
    "/v1/roles",
    {
      schema: {
        tags: ["access"],
        summary: "Roles and the permissions each grants",
        security: requires("users:manage"),
        response: { 200: z.object({ data: z.array(Role), next_cursor: z.null() }), ...problems },
      },
    },
    async () => ({ data: await listRoles(db), next_cursor: null }),
  );

  app.post(
    "/v1/roles",
    {
      schema: {
        tags: ["access"],
        summary: "Create a custom role from permissions",
        description:
          "Built-in roles are defined by Keel and cannot be changed; a custom role names its own set.",
        security: requires("users:manage"),
        body: z.strictObject({
          name: RoleName,
          description: z.string().max(500).default(""),
          permissions: z
            .array(z.enum(Object.keys(PERMISSIONS) as [keyof typeof PERMISSIONS]))
            .min(1)
            .max(100),
        }),
        response: { 201: Role, ...problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        assertMayGrant(req.principal?.grants, new Set(req.body.permissions));
        let id: number;
        try {
          id = (
            await tx
              .insertInto("roles")
              .values({ name: req.body.name, description: req.body.description, built_in: false })
              .returning("id")
              .executeTakeFirstOrThrow()
          ).id;
        } catch (err) {
          if (pgErrorCode(err) === "23505")
            throw new Conflict(`A role named ${req.body.name} exists already`);
          throw err;
        }
        await tx
          .insertInto("role_permissions")
          .values([...new Set(req.body.permissions)].map((permission) => ({ role_id: id, permission })))
          .execute();
        const role = (await listRoles(tx)).find((r) => r.id === id);
        return { status: 201, body: role as z.infer<typeof Role> };
      }),
  );

  app.post(
    "/v1/api-keys",
    {
      schema: {
        tags: ["access"],
        summary: "Create an API key with roles; the key is shown once",
        description:
          "The reply's `key` is never shown again (Keel keeps only its SHA-256). No Idempotency-Key replay: a retry makes a second key, revoke the spare.",
        security: requires("keys:manage"),
        body: z.strictObject({
          name: z.string().min(1).max(200),
          roles: Roles.min(1),
          expires_at: z.iso.datetime({ offset: true }).optional(),
        }),
        response: { 201: ApiKey.extend({ key: z.string() }), ...problems, ...pendingApproval },
      },
    },
    (req, reply) =>
      writeSecret(db, req, reply, async (tx) => {
        const held = await holdForApproval(tx, req, reply, "admin_grant", { target: "key", ...req.body });
        if (held) return held.body;
        const expiresAt = req.body.expires_at ? new Date(req.body.expires_at) : null;
        if (expiresAt && expiresAt.getTime() <= Date.now()) {
          throw new ValidationFailed([{ path: "body.expires_at", message: "must be in the future" }]);
        }
        const found = await roleIds(tx, req.body.roles);
        assertMayGrant(req.principal?.grants, found.permissions);
        const created = await createApiKey(tx, req.body.name, { roles: req.body.roles, expiresAt });
        const [view] = await apiKeyView(tx, created.id);
        return { ...(view as z.infer<typeof ApiKey>), key: created.key };
      }),
  );

  app.get(
    "/v1/api-keys",
    {
      schema: {
        tags: ["access"],
        summary: "API keys (never the keys themselves)",
        security: requires("keys:manage"),
        response: { 200: z.object({ data: z.array(ApiKey), next_cursor: z.null() }), ...problems },
      },
    },
    async () => ({ data: await apiKeyView(db), next_cursor: null }),
  );

  app.delete(
    "/v1/api-keys/:id",
    {
      schema: {
        tags: ["access"],
        summary: "Revoke an API key, at once in every Keel process",
        security: requires("keys:manage"),
        params: IdParams,
        response: { 200: ApiKey, ...problems },
      },
    },
    async (req, reply) => {
      const body = await write(db, req, reply, async (tx) => {
        const row = await tx
          .updateTable("api_keys")
          .set({ revoked_at: new Date() })
          .where("id", "=", req.params.id)
          .where("revoked_at", "is", null)
          .returning("id")
          .executeTakeFirst();
        if (!row) {
          const exists = await tx
            .selectFrom("api_keys")
            .select("id")
            .where("id", "=", req.params.id)
            .executeTakeFirst();
          if (!exists) throw new NotFound("api key", req.params.id);
        }
        const [view] = await apiKeyView(tx, req.params.id);
        return { status: 200, body: view as z.infer<typeof ApiKey> };
      });
      // committed: this process forgets the key now; the others are told by NOTIFY (trigger on api_keys)
      app.keyVerifier.invalidate();
      return body;
    },
  );

  app.post(
    "/v1/api-keys/:id/rotate",
    {
      schema: {
        tags: ["access"],
        summary:
          "Rotate an API key: a new key with the same name, roles and expiry; the old one is revoked at once",
        description:
          "The reply's `key` is shown once. Deploy it, then nothing else is needed: the old key stops working now.",
        security: requires("keys:manage"),
        params: IdParams,
        response: { 201: ApiKey.extend({ key: z.string(), replaces: z.number() }), ...problems },
      },
    },
    async (req, reply) => {
      const body = await writeSecret(db, req, reply, async (tx) => {
        const old = await tx
          .selectFrom("api_keys")
          .select(["id", "name", "expires_at", "revoked_at"])
          .where("id", "=", req.params.id)
          .forUpdate()
          .executeTakeFirst();
        if (!old) throw new NotFound("api key", req.params.id);
        if (old.revoked_at) throw new Conflict(`API key ${old.id} is revoked already`);
        const [oldView] = await apiKeyView(tx, old.id);
        const roles = oldView?.roles ?? [];
        assertMayGrant(req.principal?.grants, (await roleIds(tx, roles)).permissions);
        const created = await createApiKey(tx, old.name, { roles, expiresAt: old.expires_at });
        await tx.updateTable("api_keys").set({ revoked_at: new Date() }).where("id", "=", old.id).execute();
        const [view] = await apiKeyView(tx, created.id);
        return { ...(view as z.infer<typeof ApiKey>), key: created.key, replaces: old.id };
      });
      app.keyVerifier.invalidate();
      return body;
    },
  );

  app.post(
    "/v1/users",
    {
      schema: {
        tags: ["access"],
        summary: "Create a user; without a password one is generated and shown once",
        security: requires("users:manage"),
        body: z.strictObject({
          email: z.email().max(254),
          name: z.string().min(1).max(200),
          roles: Roles,
          password: z.string().min(MIN_PASSWORD).max(MAX_PASSWORD).optional(),
        }),
        response: { 201: User.extend({ password: z.string().optional() }), ...problems, ...pendingApproval },
      },
    },
    (req, reply) =>
      writeSecret(db, req, reply, async (tx) => {
        const held = await holdForApproval(tx, req, reply, "admin_grant", {
          target: "new_user",
          ...req.body,
        });
        if (held) return held.body;
        const { user, password } = await createUser(tx, req.body, req.principal?.grants);
        return { ...user, ...(password ? { password } : {}) };
      }),
  );

  app.get(
    "/v1/users",
    {
      schema: {
        tags: ["access"],
        summary: "Users and their roles",
        security: requires("users:manage"),
        response: { 200: z.object({ data: z.array(User), next_cursor: z.null() }), ...problems },
      },
    },
    async () => ({ data: await listUsers(db), next_cursor: null }),
  );

  app.patch(
    "/v1/users/:id",
    {
      schema: {
        tags: ["access"],
        summary: "Change a user's name or roles, or disable them (ending their sessions at once)",
        security: requires("users:manage"),
        params: IdParams,
        body: z.strictObject({
          name: z.string().min(1).max(200).optional(),
          roles: Roles.optional(),
          disabled: z.boolean().optional(),
        }),
        response: { 200: User, ...problems, ...pendingApproval },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        const payload = { target: "user", id: req.params.id, change: req.body };
        const held = await holdForApproval(tx, req, reply, "admin_grant", payload);
        if (held) return held;
        await getUser(tx, req.params.id);
        return { status: 200, body: await updateUser(tx, req.params.id, req.body, req.principal?.grants) };
      }),
  );
}
