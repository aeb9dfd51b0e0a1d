import type { Tx } from "../../db/tx.js";
import type { OutboxEvent } from "../../events/outbox.js";

/**
 * Something that acts on committed outbox events: webhook subscriptions,
 * channel stock sync, report rollups, NATS. The dispatcher (dispatcher.ts)
 * keeps one cursor row per consumer in PostgreSQL, leases it with
 * `FOR UPDATE SKIP LOCKED` (so of all Keel processes exactly one runs a
 * consumer at a time), reads the events after the cursor in commit-safe order
 * (`listEvents`), calls `handle` in the same transaction and advances the
 * cursor there. What `handle` writes (delivery rows, dirty stock rows, rollup
 * figures) therefore commits exactly once with the cursor's move: a crash
 * mid-way rolls both back and the batch is handled again, never lost, never
 * counted twice. Slow work (HTTP calls) does not belong in `handle`: persist
 * what is to be sent, commit, and send from a leased row afterwards.
 */
export interface OutboxConsumer {
  /** Stable and unique: the cursor's key. Renaming it starts the consumer from the present again. */
  name: string;
  /** Event types it wants, exact (`order.placed`) or by prefix (`order.*`); all when left out. */
  types?: string[];
  /** Whether its payloads are read (false: events come with payload null, which is cheaper). Default true. */
  payloads?: boolean;
  /** At most this many events per call; default 500. */
  batchSize?: number;
  /**
   * Where a new consumer starts: `now` (default) skips the history and takes
   * events committed from its first run; `beginning` replays the whole outbox.
   */
  startAt?: "now" | "beginning";
  /** Handles a batch in the dispatcher's transaction; throwing rolls back and the batch is retried later. */
  handle(tx: Tx, events: OutboxEvent[]): Promise<void>;
}

/** Does an event type match a filter list (exact names or `prefix.*`)? */
export function matchesType(type: string, filters: readonly string[] | undefined): boolean {
  if (!filters || filters.length === 0) return true;
  for (const f of filters) {
    if (f === "*" || f === type) return true;
    if (f.endsWith(".*") && type.startsWith(f.slice(0, -1))) return true;
  }
  return false;
}
