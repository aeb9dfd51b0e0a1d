import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { DomainError } from "../http/errors.js";
import "../db/schema-access.js";

export class RateLimited extends DomainError {
  constructor(readonly retryAfterS: number) {
    super(
      429,
      "rate_limited",
      "Too many attempts",
      `Too many sign-in attempts: try again in ${retryAfterS} s`,
      {
        retry_after: retryAfterS,
      },
    );
  }
}

/**
 * Sign-in back-off, never a lockout: each account and each IP may fail a few
 * times freely; after that every further attempt must wait twice as long as
 * the last (2 s, 4 s, 8 s … at most 15 minutes), and an attempt that comes too
 * soon is refused with 429 without its password even being checked. Counts
 * reset after an hour without failures, and on a successful sign-in for the
 * account. The state is in the database, so it holds across processes; the
 * rows of one attempt are locked together, so a burst of parallel guesses
 * cannot slip through between check and count.
 */
export const ACCOUNT_FREE = 5;
export const IP_FREE = 20;
export const MAX_DELAY_S = 900;
const RESET_AFTER = "1 hour";

export interface Bucket {
  key: string;
  free: number;
}

export const accountBucket = (email: string): Bucket => ({
  key: `email:${email.trim().toLowerCase()}`,
  free: ACCOUNT_FREE,
});
export const ipBucket = (ip: string): Bucket => ({ key: `ip:${ip}`, free: IP_FREE });

/** Counts one attempt against every bucket, or throws RateLimited when any is still backing off. */
export async function admitAttempt(db: DB, buckets: Bucket[]): Promise<void> {
  const sorted = [...buckets].sort((a, b) => (a.key < b.key ? -1 : 1));
  await inTransaction(db, async (tx) => {
    await sql`insert into login_failures (key, failures, last_failure_at, blocked_until)
      select unnest(${sorted.map((b) => b.key)}::text[]), 0, now(), now() - interval '1 second'
      on conflict (key) do nothing`.execute(tx);
    const rows = await sql<{ key: string; failures: number; wait_s: number; stale: boolean }>`
      select key, failures, extract(epoch from blocked_until - now())::float8 as wait_s,
        last_failure_at < now() - ${RESET_AFTER}::interval as stale
      from login_failures where key = any(${sorted.map((b) => b.key)}::text[])
      order by key for update`.execute(tx);
    const wait = Math.max(0, ...rows.rows.map((r) => r.wait_s));
    if (wait > 0) throw new RateLimited(Math.ceil(wait));
    for (const row of rows.rows) {
      const free = sorted.find((b) => b.key === row.key)?.free ?? ACCOUNT_FREE;
      const failures = row.stale ? 1 : row.failures + 1;
      const delay = failures > free ? Math.min(2 ** (failures - free), MAX_DELAY_S) : 0;
      await sql`update login_failures set failures = ${failures}, last_failure_at = now(),
        blocked_until = now() + make_interval(secs => ${delay}) where key = ${row.key}`.execute(tx);
    }
  });
}

/** A successful sign-in: the account starts afresh, and the IP is not charged for it. */
export async function attemptSucceeded(db: DB, account: Bucket, ip: Bucket): Promise<void> {
  await db.deleteFrom("login_failures").where("key", "=", account.key).execute();
  await sql`update login_failures set failures = greatest(failures - 1, 0), blocked_until = now()
    where key = ${ip.key} and failures <= ${ip.free}`.execute(db);
}
