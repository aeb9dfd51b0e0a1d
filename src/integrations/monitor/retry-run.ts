import { sql } from "kysely";
import type { Tx } from "../../db/tx.js";
import type { FailureRow, RetryHandlers } from "./retry.js";
import "../../db/schema-monitor.js";

export type RetryOutcome = "resolved" | "failed" | "no_handler";

/**
 * Retries one failure whose row the caller has locked, inside a savepoint: a
 * handler that returns resolves it (`resolution: retried`) together with what
 * it wrote; one that throws has its writes rolled back and bumps attempts,
 * last_at and error. A source with no handler changes nothing.
 */
export async function retryLocked(tx: Tx, f: FailureRow, handlers: RetryHandlers): Promise<RetryOutcome> {
  const handler = handlers.get(f.source);
  if (!handler) return "no_handler";
  await sql`savepoint failure_retry`.execute(tx);
  try {
    await handler(f, tx);
  } catch (err) {
    await sql`rollback to savepoint failure_retry`.execute(tx);
    const message = err instanceof Error ? err.message : String(err);
    await tx
      .updateTable("integration_failures")
      .set({
        attempts: sql`attempts + 1`,
        last_at: sql`now()`,
        error: message.slice(0, 2000) || "retry failed",
      })
      .where("id", "=", f.id)
      .execute();
    return "failed";
  }
  await sql`release savepoint failure_retry`.execute(tx);
  await tx
    .updateTable("integration_failures")
    .set({ status: "resolved", resolved_at: new Date(), resolution: "retried" })
    .where("id", "=", f.id)
    .execute();
  return "resolved";
}

export interface FailureFilter {
  channel?: string;
  source?: string;
  status?: "open" | "resolved";
}
