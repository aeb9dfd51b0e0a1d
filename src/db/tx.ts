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
