import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import { readConfig } from "./config.js";
import { refreshAbcRollups } from "./counts/abc-rollup.js";
import type { DB } from "./db/pool.js";
import { expireReservations } from "./inventory/reservations.js";
import { rollUpSales } from "./replenishment/rollup.js";
import { refreshForecasts } from "./replenishment/stored-forecasts.js";

export interface BackgroundJobs {
  stop(): Promise<void>;
}

interface Job {
  name: string;
  everyMs: number;
  run(db: DB): Promise<number>;
}

/** Idempotency records are kept for 24 hours, as long as a client may reasonably retry. */
export async function purgeIdempotencyKeys(db: DB): Promise<number> {
  const res = await sql`delete from idempotency_keys where created_at < now() - interval '24 hours'`.execute(
    db,
  );
  return Number(res.numAffectedRows ?? 0);
}

const jobs: Job[] = [
  { name: "purge idempotency keys", everyMs: 60 * 60_000, run: purgeIdempotencyKeys },
  {
    name: "expire reservations",
    everyMs: readConfig().sweepIntervalMs || 5000,
    run: (db) => expireReservations(db),
  },
  // sales history for replenishment: sale movements into sales_daily, a few seconds behind the ledger
  { name: "roll up sales", everyMs: 5_000, run: rollUpSales },
  // demand forecasts for replenishment: at most 10 s of model fitting every 30 s
  {
    name: "refresh demand forecasts",
    everyMs: 30_000,
    run: (db) => refreshForecasts(db, { budgetMs: 10_000 }),
  },
  // ABC classes for the report and for counts by class: each location's list at most 5 minutes old
  { name: "refresh ABC classes", everyMs: 60_000, run: (db) => refreshAbcRollups(db) },
];

/** Registers a periodic job; modules add theirs at import time. */
export function registerJob(job: Job): void {
  jobs.push(job);
}

/**
 * Runs every registered job on its interval in this process. Jobs are safe to
 * run in several processes at once (they claim rows with SKIP LOCKED or are
 * idempotent), so each API process runs them.
 */
export function startBackgroundJobs(db: DB, log: FastifyBaseLogger, scale = 1): BackgroundJobs {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  for (const job of jobs) {
    if (scale <= 0) break;
    const timer = setInterval(() => {
      const p = job
        .run(db)
        .then((n) => {
          if (n > 0) log.info({ job: job.name, count: n }, "background job");
        })
        .catch((err) => log.error({ err, job: job.name }, "background job failed"))
        .finally(() => running.delete(p));
      running.add(p);
    }, job.everyMs * scale);
    timer.unref();
    timers.push(timer);
  }
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...running]);
    },
  };
}
