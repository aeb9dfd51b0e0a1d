import { type AuditEntry, recordAudit } from "../access/audit.js";
import type { DB } from "../db/pool.js";
import { inTransaction, type Tx } from "../db/tx.js";
import type { WriteResult } from "../http/idempotency.js";
import { batchSize, placedAlone } from "../http/metrics.js";
import { placeOrder } from "./placement.js";
import { BatchRefused, BatchStale, placeBatch } from "./placement-batch.js";
import type { PlaceOrderBody } from "./schema.js";
import type { OrderSettings } from "./settings.js";
import { getOrderView, type OrderView } from "./view.js";

/**
 * Placement as POST /v1/orders answers it: 201 with the new order, 200 with
 * the existing one for a channel order placed before.
 */
export async function placeAndShow(
  tx: Tx,
  input: PlaceOrderBody,
  opts: { actor: string; settings?: OrderSettings },
): Promise<WriteResult<OrderView>> {
  const placed = await placeOrder(tx, input, opts);
  const body = placed.view ?? (await getOrderView(tx, placed.orderId));
  return { status: placed.created ? 201 : 200, body };
}

/**
 * A placement's answer. `json` is the body as JSON text when the order's view
 * was built in memory by placedView, whose objects carry exactly the response
 * schema's keys in its order (placement-batch.test checks it against the
 * schema's own serialization): sent as it is, the response skips the schema
 * walk that a view read back from the database still gets.
 */
export interface Placement extends WriteResult<OrderView> {
  json?: string;
}

interface Pending {
  input: PlaceOrderBody;
  actor: string;
  /** The request's audit row for the order it placed, written in the placing transaction. */
  audit?: (body: OrderView) => AuditEntry;
  attempts: number;
  resolve(r: Placement): void;
  reject(err: unknown): void;
}

/** A batch that lost an order to stock is tried again this often before its orders go one by one. */
const MAX_ATTEMPTS = 3;

/**
 * Concurrent placements coalesced like a database's group commit (and like
 * QuickReserver for reservations): while `maxInFlight` batches are in the
 * database, new requests queue, and the queue goes in as one batch
 * (placement-batch) of up to `maxBatch` orders of one actor. An order the
 * batch cannot place — refused for stock, a checkout reservation, a second
 * request for one channel order — is placed alone, exactly as without
 * batching; so is every order of a batch that failed for any other reason,
 * which gives each its own answer. A batch whose unlocked stock reading went
 * stale (BatchStale) runs again at once with its rows locked.
 */
export class OrderPlacer {
  /** Batches run, orders they placed and orders placed alone, for tests and metrics. */
  readonly stats = { batches: 0, batched: 0, alone: 0 };
  private queue: Pending[] = [];
  private inFlight = 0;

  /**
   * Measured on the 2-core bench machine (docs/benchmarks.md): 2 in flight
   * beat 1, 3 and 4; starting a second batch only once 12 orders wait (a lone
   * order never waits) beat starting it at once (575 → 620–740 orders/s),
   * since each batch's statements cost less per order the more it carries.
   */
  constructor(
    private db: DB,
    private maxInFlight = 2,
    private maxBatch = 64,
    private minBatch = 12,
  ) {}

  place(input: PlaceOrderBody, actor: string, audit?: (body: OrderView) => AuditEntry): Promise<Placement> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, actor, audit, attempts: 0, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (
      this.inFlight < this.maxInFlight &&
      this.queue.length > 0 &&
      (this.inFlight === 0 || this.queue.length >= this.minBatch)
    ) {
      // one actor per batch: the ledger rows of a statement carry one actor
      const actor = this.queue[0].actor;
      const batch: Pending[] = [];
      this.queue = this.queue.filter((p) => {
        if (p.actor !== actor || batch.length >= this.maxBatch) return true;
        batch.push(p);
        return false;
      });
      this.inFlight += 1;
      this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Pending[], lock = false): Promise<void> {
    this.stats.batches += 1;
    batchSize.observe({ kind: "orders" }, batch.length);
    try {
      const outcomes = await inTransaction(this.db, async (tx) => {
        const out = await placeBatch(
          tx,
          batch.map((p) => p.input),
          { actor: batch[0].actor, lock },
        );
        // one multi-row INSERT for the batch's audit rows (orders placed alone record their own)
        await recordAudit(
          tx,
          out.flatMap((o, k) => {
            const audit = batch[k]?.audit;
            return "placed" in o && audit ? [audit(o.placed.view)] : [];
          }),
        );
        return out;
      });
      outcomes.forEach((o, k) => {
        const p = batch[k];
        if ("placed" in o) {
          this.stats.batched += 1;
          const { created, view, built } = o.placed;
          p.resolve({
            status: created ? 201 : 200,
            body: view,
            json: built ? JSON.stringify(view) : undefined,
          });
        } else if ("refused" in o) p.reject(o.refused);
        else this.alone(p, "not batchable");
      });
    } catch (err) {
      if (err instanceof BatchStale && !lock) return this.run(batch, true);
      if (!(err instanceof BatchRefused)) {
        for (const p of batch) this.alone(p, "batch failed");
        return;
      }
      const refused = new Set(err.refused);
      const again: Pending[] = [];
      batch.forEach((p, k) => {
        p.attempts += 1;
        if (refused.has(k)) this.alone(p, "refused for stock");
        else if (p.attempts >= MAX_ATTEMPTS) this.alone(p, "retried too often");
        else again.push(p);
      });
      this.queue.unshift(...again);
    }
  }

  private alone(p: Pending, why: string): void {
    this.stats.alone += 1;
    placedAlone.inc({ why });
    inTransaction(this.db, async (tx) => {
      const placed = await placeAndShow(tx, p.input, { actor: p.actor });
      if (p.audit) await recordAudit(tx, [p.audit(placed.body)]);
      return placed;
    }).then(p.resolve, p.reject);
  }
}
