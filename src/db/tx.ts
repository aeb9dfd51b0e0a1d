import type { Transaction } from "kysely";
import type { DB } from "./pool.js";
import type { Database } from "./schema.js";

export type Tx = Transaction<Database>;

/** SQLSTATEs after which the whole transaction can safely run again. */
const RETRYABLE = new Set(["40001", "40P01"]); // serialization_failure, deadlock_detected

/**
 * Runs `work` in a transaction and retries it from the start on a
 * serialisation failure or deadlock, so no client ever sees one.
 */
export async function inTransaction<T>(db: DB, work: (tx: Tx) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

export function pgErrorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/** Connection-level SQLSTATE classes and codes: the server is gone, shutting down or full. */
const UNAVAILABLE_CODES = new Set(["57P01", "57P02", "57P03", "53300", "55000"]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
]);

/**
 * Whether an error means the database cannot be reached right now (as opposed
 * to a bad query): the caller should answer 503 and let the client retry.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  const code = typeof e.code === "string" ? e.code : "";
  if (code.startsWith("08") || UNAVAILABLE_CODES.has(code) || NETWORK_CODES.has(code)) {
    // 55000 is object_not_in_prerequisite_state in general; only its "does not allow connections" form is an outage
    return code !== "55000" || /allow connections|accepting connections/i.test(String(e.message));
  }
  return /Connection terminated|timeout exceeded when trying to connect|connection error/i.test(
    String(e.message ?? ""),
  );
}
