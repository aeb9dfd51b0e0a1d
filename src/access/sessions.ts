import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import type { Principal } from "../http/auth.js";
import type { Permission } from "./permissions.js";
import "../db/schema-access.js";

/** The admin app's session cookie. `__Host-`: Secure, Path=/, no Domain — the browser enforces all three. */
export const SESSION_COOKIE = "__Host-keel_session";
/** A session ends after this long without a request… */
export const IDLE_MS = 60 * 60_000;
/** …and this long after sign-in, whatever happens. */
export const ABSOLUTE_MS = 12 * 60 * 60_000;
/** last_seen_at is written at most this often per session, so browsing costs no write per request. */
const TOUCH_MS = 60_000;

const sha256 = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * The CSRF token of a session: derived from its secret token, so it needs no
 * storage, changes with every sign-in, and cannot be computed without the
 * cookie (which scripts on other sites can neither read nor send: HttpOnly,
 * SameSite=Strict).
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update("keel-csrf\0").update(sessionToken).digest("base64url");
}

export function csrfMatches(sessionToken: string, presented: unknown): boolean {
  if (typeof presented !== "string") return false;
  const want = Buffer.from(csrfTokenFor(sessionToken));
  const got = Buffer.from(presented);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Starts a session: a fresh 256-bit token, only its hash stored. */
export async function createSession(
  tx: Tx,
  userId: number,
  meta: { ip?: string; userAgent?: string },
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + ABSOLUTE_MS);
  await tx
    .insertInto("sessions")
    .values({
      token_hash: sha256(token),
      user_id: userId,
      expires_at: expiresAt,
      ip: meta.ip ?? null,
      user_agent: meta.userAgent?.slice(0, 500) ?? null,
    })
    .execute();
  return { token, expiresAt };
}

export async function endSession(db: DB | Tx, token: string): Promise<void> {
  await db.deleteFrom("sessions").where("token_hash", "=", sha256(token)).execute();
}

export async function endSessionsOf(tx: DB | Tx, userId: number): Promise<void> {
  await tx.deleteFrom("sessions").where("user_id", "=", userId).execute();
}

/**
 * The signed-in user behind a session token, with their permissions as they
 * are now (roles are read on every request, so a changed role or a disabled
 * user takes effect at once). Null when the session is unknown, idle too
 * long, past its absolute end, or its user is disabled.
 */
export async function sessionPrincipal(db: DB, token: string): Promise<Principal | null> {
  const found = await sql<{
    session_id: number;
    user_id: number;
    email: string;
    last_seen_at: Date;
    permissions: string[];
  }>`
    select s.id as session_id, u.id as user_id, u.email, s.last_seen_at,
      coalesce((select array_agg(distinct rp.permission) from user_roles ur
        join role_permissions rp on rp.role_id = ur.role_id where ur.user_id = u.id), '{}') as permissions
    from sessions s join users u on u.id = s.user_id
    where s.token_hash = ${sha256(token)} and not u.disabled and s.expires_at > now()
      and s.last_seen_at > now() - make_interval(secs => ${IDLE_MS / 1000})`.execute(db);
  const row = found.rows[0];
  if (!row) return null;
  if (Date.now() - row.last_seen_at.getTime() > TOUCH_MS) {
    await db
      .updateTable("sessions")
      .set({ last_seen_at: new Date() })
      .where("id", "=", row.session_id)
      .execute();
  }
  return {
    kind: "user",
    apiKeyId: null,
    userId: row.user_id,
    sessionId: row.session_id,
    actor: `user:${row.email}`,
    grants: new Set(row.permissions as Permission[]),
    csrfToken: csrfTokenFor(token),
  };
}

/** The session token in a Cookie header, if any. */
export function sessionTokenOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${ABSOLUTE_MS / 1000}; Secure; HttpOnly; SameSite=Strict`;
}

export const clearedSessionCookie = `${SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict`;
