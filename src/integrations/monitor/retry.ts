import type { Selectable } from "kysely";
import type { IntegrationFailuresTable } from "../../db/schema-monitor.js";
import type { Tx } from "../../db/tx.js";

export type FailureRow = Selectable<IntegrationFailuresTable>;

/**
 * Retries one failure. Runs in a transaction that holds the failure's row
 * lock (so two people retrying the same failure never run it twice at once);
 * what it writes in `tx` commits with the resolution, and is rolled back if it
 * throws. Returning means the retry succeeded and the failure is resolved;
 * throwing keeps it open with attempts, last_at and error bumped.
 */
export type RetryHandler = (failure: FailureRow, tx: Tx) => Promise<void>;

/** By failure `source` (webhook, stock-feed, shopify …). Created in buildApp; each part adds its handler there. */
export type RetryHandlers = Map<string, RetryHandler>;
