import { z } from "zod";
import { inTransaction } from "../db/tx.js";
import type { App, AppDeps } from "../http/app.js";
import { DomainError, Unauthorized } from "../http/errors.js";
import { Problem } from "../orders/view-schema.js";
import { auditEntryFor, recordAudit } from "./audit.js";
import { spendTotpCode } from "./mfa.js";
import { checkPassword, MAX_PASSWORD } from "./passwords.js";
import { AUTHENTICATED, PERMISSIONS, PUBLIC } from "./permissions.js";
import {
  clearedSessionCookie,
  createSession,
  csrfTokenFor,
  endSession,
  sessionCookie,
  sessionTokenOf,
} from "./sessions.js";
import { accountBucket, admitAttempt, attemptSucceeded, ipBucket, RateLimited } from "./throttle.js";
import { findUserForLogin, getUser, User } from "./users.js";

const tags = ["access"];

/** The password was right, but the user has two-factor sign-in on: send `totp` too. */
class TotpRequired extends DomainError {
  constructor() {
    super(
      401,
      "totp_required",
      "Two-factor code required",
      "Send the authenticator app's current code as `totp`",
    );
  }
}
const Me = z.object({
  user: User.nullable(),
  api_key: z.object({ id: z.number(), name: z.string() }).nullable(),
  permissions: z.array(z.string()),
  csrf_token: z.string().optional().describe("sessions only: send it as X-CSRF-Token on every write"),
});

const sortedPermissions = (grants: ReadonlySet<string> | "all"): string[] =>
  grants === "all" ? Object.keys(PERMISSIONS).sort() : [...grants].sort();

export async function sessionRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/auth/login",
    {
      schema: {
        tags,
        summary: "Sign in with e-mail and password: sets the session cookie",
        description:
          "Sets `__Host-keel_session` (Secure, HttpOnly, SameSite=Strict, Path=/), a fresh session every time. Writes made with the cookie need `X-CSRF-Token: <csrf_token>`. Repeated failures per account and per IP back off (429 `rate_limited` with Retry-After), they never lock the account.",
        security: PUBLIC,
        body: z.strictObject({
          email: z.string().min(1).max(254),
          password: z.string().min(1).max(MAX_PASSWORD),
          totp: z
            .string()
            .regex(/^\d{6}$/, "6 digits")
            .optional()
            .describe("the authenticator app's current code, for users with two-factor sign-in on"),
        }),
        response: {
          200: Me.extend({ expires_at: z.string() }),
          400: Problem,
          401: Problem,
          429: Problem,
        },
      },
    },
    async (req, reply) => {
      const account = accountBucket(req.body.email);
      const ip = ipBucket(req.ip);
      try {
        await admitAttempt(db, [account, ip]);
      } catch (err) {
        if (err instanceof RateLimited) reply.header("retry-after", String(err.retryAfterS));
        throw err;
      }
      const found = await findUserForLogin(db, req.body.email);
      const ok = await checkPassword(found?.password_hash ?? null, req.body.password);
      if (!found || !ok || found.disabled) throw new Unauthorized("The e-mail or the password is wrong");
      if (found.totp && req.body.totp === undefined) throw new TotpRequired();
      if (
        found.totp &&
        !(await inTransaction(db, (tx) => spendTotpCode(tx, found.id, req.body.totp as string)))
      ) {
        throw new Unauthorized("The two-factor code is wrong or was used already");
      }
      await attemptSucceeded(db, account, ip);
      // rotated at sign-in: a session the browser already had ends, a new token is issued
      const previous = sessionTokenOf(req.headers.cookie);
      const session = await inTransaction(db, async (tx) => {
        if (previous) await endSession(tx, previous);
        const created = await createSession(tx, found.id, {
          ip: req.ip,
          userAgent: req.headers["user-agent"],
        });
        req.principal = {
          kind: "user",
          apiKeyId: null,
          userId: found.id,
          sessionId: null,
          actor: `user:${found.email}`,
          grants: new Set(),
        };
        await recordAudit(tx, [{ ...auditEntryFor(req, { id: found.id }), entityType: "users" }]);
        return created;
      });
      const user = await getUser(db, found.id);
      const permissions = await db
        .selectFrom("user_roles as ur")
        .innerJoin("role_permissions as rp", "rp.role_id", "ur.role_id")
        .select("rp.permission")
        .distinct()
        .where("ur.user_id", "=", found.id)
        .execute();
      reply.header("set-cookie", sessionCookie(session.token));
      reply.header("cache-control", "no-store");
      return {
        user,
        api_key: null,
        permissions: permissions.map((p) => p.permission).sort(),
        csrf_token: csrfTokenFor(session.token),
        expires_at: session.expiresAt.toISOString(),
      };
    },
  );

  app.post(
    "/v1/auth/logout",
    {
      schema: {
        tags,
        summary: "Sign out: ends the session and clears the cookie",
        security: PUBLIC,
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      const token = sessionTokenOf(req.headers.cookie);
      if (token) await endSession(db, token);
      reply.header("set-cookie", clearedSessionCookie);
      reply.code(204);
      return null;
    },
  );

  app.get(
    "/v1/me",
    {
      schema: {
        tags,
        summary: "Who is calling and what they may do (a signed-in user or an API key)",
        security: AUTHENTICATED,
        response: { 200: Me, 401: Problem },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      if (!p) throw new Unauthorized();
      reply.header("cache-control", "no-store");
      const permissions = sortedPermissions(p.grants);
      if (p.kind === "user" && p.userId !== null) {
        return { user: await getUser(db, p.userId), api_key: null, permissions, csrf_token: p.csrfToken };
      }
      const key = await db
        .selectFrom("api_keys")
        .select(["id", "name"])
        .where("id", "=", p.apiKeyId as number)
        .executeTakeFirstOrThrow();
      return { user: null, api_key: key, permissions };
    },
  );
}
