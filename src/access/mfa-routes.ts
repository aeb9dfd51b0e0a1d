import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { inTransaction } from "../db/tx.js";
import type { App, AppDeps } from "../http/app.js";
import { Conflict } from "../http/errors.js";
import { Problem } from "../orders/view-schema.js";
import { auditEntryFor, recordAudit } from "./audit.js";
import { confirmTotpEnrollment, disableTotp, startTotpEnrollment } from "./mfa.js";
import { AUTHENTICATED } from "./permissions.js";
import { base32 } from "./totp.js";

const tags = ["access"];
const problems = { 401: Problem, 403: Problem, 409: Problem, 422: Problem };
const Code = z.strictObject({ code: z.string().regex(/^\d{6}$/, "6 digits") });

function signedInUser(req: FastifyRequest): number {
  const id = req.principal?.userId;
  if (req.principal?.kind !== "user" || id === null || id === undefined) {
    throw new Conflict("Two-factor sign-in is for users signed in with the session cookie, not API keys");
  }
  return id;
}

/** Optional TOTP for the signed-in user: enrol, confirm, turn off. */
export async function mfaRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/me/totp",
    {
      schema: {
        tags,
        summary: "Start two-factor enrolment: a new TOTP secret for an authenticator app",
        description:
          "The secret is shown once and pending until POST /v1/me/totp/confirm gets a first code from it. Sessions only.",
        security: AUTHENTICATED,
        response: { 201: z.object({ secret: z.string(), otpauth_url: z.string() }), ...problems },
      },
    },
    async (req, reply) => {
      const userId = signedInUser(req);
      const body = await inTransaction(db, async (tx) => {
        const { secret, uri } = await startTotpEnrollment(tx, userId);
        await recordAudit(tx, [{ ...auditEntryFor(req, { id: userId }), entityType: "users" }]);
        return { secret: base32(secret), otpauth_url: uri };
      });
      reply.code(201).header("cache-control", "no-store");
      return body;
    },
  );

  for (const [path, summary, run] of [
    [
      "/v1/me/totp/confirm",
      "Confirm enrolment with a first code: sign-in then needs a code",
      confirmTotpEnrollment,
    ],
    ["/v1/me/totp/disable", "Turn two-factor sign-in off (needs a current code)", disableTotp],
  ] as const) {
    app.post(
      path,
      {
        schema: {
          tags,
          summary,
          security: AUTHENTICATED,
          body: Code,
          response: { 200: z.object({ totp_enabled: z.boolean() }), 400: Problem, ...problems },
        },
      },
      async (req) => {
        const userId = signedInUser(req);
        await inTransaction(db, async (tx) => {
          await run(tx, userId, req.body.code);
          await recordAudit(tx, [{ ...auditEntryFor(req, { id: userId }), entityType: "users" }]);
        });
        return { totp_enabled: run === confirmTotpEnrollment };
      },
    );
  }
}
