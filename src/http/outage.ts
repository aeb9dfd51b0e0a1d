import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../db/pool.js";

/**
 * One log line when the database becomes unreachable and one when it is back,
 * however many requests meet the outage in between. The end is found by a
 * probe (`select 1` every second while the outage lasts), not by the next
 * successful answer: answers served from caches (keys, the storefront) would
 * end an outage that is still going on.
 */
export class OutageWatch {
  private since: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly db: DB,
    private readonly log: FastifyBaseLogger,
    private readonly probeMs = 1000,
  ) {}

  get active(): boolean {
    return this.since !== null;
  }

  /** A request met an unreachable database. */
  begin(err: unknown): void {
    if (this.since !== null) return;
    this.since = Date.now();
    this.log.warn({ err: (err as Error)?.message }, "database unavailable; answering 503 until it is back");
    this.timer = setInterval(() => void this.probe(), this.probeMs);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing || this.since === null) return;
    this.probing = true;
    try {
      await sql`select 1`.execute(this.db);
      this.log.warn({ outage_ms: Date.now() - this.since }, "database reachable again");
      this.stop();
    } catch {
      // still down: the next probe tries again
    } finally {
      this.probing = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.since = null;
  }
}
