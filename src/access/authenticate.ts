import type { FastifyRequest } from "fastify";
import type { DB } from "../db/pool.js";
import type { KeyVerifier, Principal } from "../http/auth.js";
import { DomainError, Unauthorized } from "../http/errors.js";
import { authorize } from "./guard.js";
import { csrfMatches, sessionPrincipal, sessionTokenOf } from "./sessions.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** The bearer-key verifier, for routes that must drop its cache at once (revocation). */
    keyVerifier: KeyVerifier;
  }
}

export class CsrfFailed extends DomainError {
  constructor() {
    super(
      403,
      "csrf_failed",
      "CSRF token missing or wrong",
      "A write with the session cookie needs the header X-CSRF-Token: the csrf_token from sign-in or GET /v1/me",
    );
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Who a request is: an API key (`Authorization: Bearer`, checked first) or
 * the admin app's session cookie. Null when it carries neither; an invalid
 * credential is a 401.
 */
export async function authenticate(
  verifier: KeyVerifier,
  db: DB,
  req: FastifyRequest,
): Promise<Principal | null> {
  const header = req.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new Unauthorized();
    const principal = await verifier.verify(match[1] as string);
    if (!principal) throw new Unauthorized("The API key is unknown, revoked or expired");
    return principal;
  }
  const token = sessionTokenOf(req.headers.cookie);
  if (token === undefined) return null;
  const principal = await sessionPrincipal(db, token);
  if (!principal) throw new Unauthorized("The session has ended: sign in again");
  return principal;
}

/**
 * The onRequest hook every /v1 request passes before validation and the
 * handler: authenticate, check CSRF for cookie-authenticated writes, then
 * deny unless the principal holds the route's permission. Public routes are
 * left alone. A bearer key costs one map lookup on a cache hit.
 */
export function accessHook(verifier: KeyVerifier, db: DB) {
  return async (req: FastifyRequest): Promise<void> => {
    const permission = req.routeOptions.config.permission;
    if (permission === null || !req.url.startsWith("/v1/")) return;
    const principal = await authenticate(verifier, db, req);
    if (!principal) {
      throw new Unauthorized(
        "Sign in or send an API key: `Authorization: Bearer <key>` or the session cookie",
      );
    }
    req.principal = principal;
    if (principal.csrfToken !== undefined && !SAFE_METHODS.has(req.method)) {
      const sessionToken = sessionTokenOf(req.headers.cookie) as string;
      if (!csrfMatches(sessionToken, req.headers["x-csrf-token"])) throw new CsrfFailed();
    }
    // an unknown /v1 path has no permission: authenticated, it gets its 404
    if (permission && permission !== "authenticated") authorize(principal.grants, permission);
  };
}
