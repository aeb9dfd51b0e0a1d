import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import { sealAudit } from "./access/audit.js";
import { checkLedgerDrift, detectAnomalies, evaluateAlerts } from "./alerts/evaluate.js";
import { sendNotifications } from "./alerts/notify.js";
import { expireApprovals } from "./approvals/decisions.js";
import { readConfig } from "./config.js";
import { refreshAbcRollups } from "./counts/abc-rollup.js";
import { connectionStringOf, type DB } from "./db/pool.js";
import { processInbox, purgeInbox } from "./integrations/channels/inbox.js";
import { inboxHandlers } from "./integrations/channels/inbox-handlers.js";
import { scheduleReconciles } from "./integrations/channels/shopify/sync-jobs.js";
import { sendWooShipments } from "./integrations/channels/woocommerce/shipments.js";
import { pushDirtyWooStock, reconcileWooStock } from "./integrations/channels/woocommerce/stock.js";
import { failStaleImports } from "./integrations/csv/imports.js";
import { pullStockFeeds } from "./integrations/stock-feed/pull.js";
import { expireReservations } from "./inventory/reservations.js";
import { JobLocks, runOncePerTick } from "./job-ticks.js";
import { sendCustomerEmails } from "./notifications/sender.js";
import { sweepBackorders } from "./orders/backorders.js";
import { rollUpSales } from "./replenishment/rollup.js";
import { refreshForecasts } from "./replenishment/stored-forecasts.js";
import { rollUpOrderFacts } from "./reports/order-facts.js";
import { rollUpSalesValue } from "./reports/sales-rollup.js";

export interface BackgroundJobs {
  stop(): Promise<void>;
}

export interface Job {
  name: string;
  everyMs: number;
  /**
   * How processes share the job. "leases": it claims its rows itself (FOR
   * UPDATE SKIP LOCKED with a lease, or its own advisory lock), so every
   * process runs it and they split the work. "once": it would repeat the same
   * work in every process, so one process per interval runs it (job_ticks and
   * an advisory lock, src/job-ticks.ts).
   */
  shared: "leases" | "once";
  run(db: DB): Promise<number>;
}

/** Idempotency records are kept for 24 hours, as long as a client may reasonably retry. */
export async function purgeIdempotencyKeys(db: DB): Promise<number> {
  const res = await sql`delete from idempotency_keys where created_at < now() - interval '24 hours'`.execute(
    db,
  );
  return Number(res.numAffectedRows ?? 0);
}

const INBOX_HANDLERS = inboxHandlers();

const jobs: Job[] = [
  { name: "purge idempotency keys", shared: "once", everyMs: 60 * 60_000, run: purgeIdempotencyKeys },
  {
    name: "expire reservations",
    shared: "leases",
    everyMs: readConfig().sweepIntervalMs || 5000,
    run: (db) => expireReservations(db),
  },
  // sales history for replenishment: sale movements into sales_daily, a few seconds behind the ledger
  { name: "roll up sales", shared: "once", everyMs: 5_000, run: rollUpSales },
  // shipped units, revenue and cost per SKU x channel x day for the sales reports, from the outbox
  { name: "roll up sales value", shared: "once", everyMs: 5_000, run: rollUpSalesValue },
  // one row of figures per order for the fill-rate, cycle-time and cancellation reports, from the outbox
  { name: "roll up order facts", shared: "once", everyMs: 5_000, run: rollUpOrderFacts },
  // demand forecasts for replenishment: at most 10 s of model fitting every 30 s
  {
    name: "refresh demand forecasts",
    shared: "once",
    everyMs: 30_000,
    run: (db) => refreshForecasts(db, { budgetMs: 10_000 }),
  },
  // ABC classes for the report and for counts by class: each location's list at most 5 minutes old
  { name: "refresh ABC classes", shared: "once", everyMs: 60_000, run: (db) => refreshAbcRollups(db) },
  // backorders missed by an arrival (their order was locked by another transaction at the time)
  { name: "fill backorders", shared: "once", everyMs: 60_000, run: sweepBackorders },
  // CSV imports whose process died mid-file: marked failed (re-importing the file is safe)
  { name: "fail stale imports", shared: "once", everyMs: 30_000, run: failStaleImports },
  // ERP/WMS feeds in pull mode: each due feed asked what changed since its cursor
  { name: "pull stock feeds", shared: "leases", everyMs: 5_000, run: pullStockFeeds },
  // alerts open and resolve with their conditions (stock, overdue orders, late receipts, integrations)
  { name: "evaluate alerts", shared: "once", everyMs: 30_000, run: evaluateAlerts },
  // robust z-score anomalies on yesterday's daily series (orders, cancellations, returns, adjustments)
  { name: "detect anomalies", shared: "once", everyMs: 15 * 60_000, run: (db) => detectAnomalies(db) },
  // opened alerts to their notification targets (digests when their window ends)
  { name: "send notifications", shared: "leases", everyMs: 5_000, run: (db) => sendNotifications(db) },
  // keel doctor's ledger check: drift between balances and movements becomes ledger_drift alerts
  { name: "check ledger drift", shared: "once", everyMs: 6 * 60 * 60_000, run: checkLedgerDrift },
  // customer e-mails written by the notifications consumer: sent, or retried with backoff
  { name: "send customer e-mails", shared: "leases", everyMs: 5_000, run: (db) => sendCustomerEmails(db) },
  // four-eyes requests past their expiry: marked expired, each audited
  { name: "expire approvals", shared: "leases", everyMs: 60_000, run: (db) => expireApprovals(db) },
  // tamper evidence: new audit rows join the hash chain within seconds
  { name: "seal audit log", shared: "leases", everyMs: 5_000, run: (db) => sealAudit(db) },
  // inbound channel webhooks (Shopify, WooCommerce): stored deliveries applied, oldest first
  {
    name: "apply channel webhooks",
    shared: "leases",
    everyMs: 500,
    run: (db) => processInbox(db, INBOX_HANDLERS),
  },
  { name: "purge channel webhooks", shared: "once", everyMs: 60 * 60_000, run: (db) => purgeInbox(db) },
  // WooCommerce stock out: SKUs whose stock changed, then every SKU now and then (new SKUs, drift)
  { name: "push WooCommerce stock", shared: "leases", everyMs: 2_000, run: (db) => pushDirtyWooStock(db) },
  { name: "reconcile WooCommerce stock", shared: "once", everyMs: 15 * 60_000, run: reconcileWooStock },
  // the daily Shopify reconcile (orders a lost webhook missed, stock drift), queued as a sync job per channel
  {
    name: "schedule Shopify reconciles",
    shared: "once",
    everyMs: 15 * 60_000,
    run: (db) => scheduleReconciles(db),
  },
  // shipped fulfilments of WooCommerce orders: a tracking note, and the order completed once all shipped
  { name: "send WooCommerce shipments", shared: "once", everyMs: 2_000, run: (db) => sendWooShipments(db) },
];

/**
 * Runs every registered job on its interval in this process. Every Keel
 * process runs them: "leases" jobs split their rows between processes, and
 * "once" jobs run in one process per interval (src/job-ticks.ts), so any
 * number of processes on one database do each piece of work once. `scale`
 * stretches every interval (0 or less: no jobs); `list` replaces the
 * registered jobs (tests).
 */
export function startBackgroundJobs(
  db: DB,
  log: FastifyBaseLogger,
  scale = 1,
  list: readonly Job[] = jobs,
): BackgroundJobs {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const locks = new JobLocks(connectionStringOf(db));
  for (const job of list) {
    if (scale <= 0) break;
    const everyMs = job.everyMs * scale;
    const once = () => runOncePerTick(db, locks, job.name, everyMs, () => job.run(db)).then((n) => n ?? 0);
    const timer = setInterval(() => {
      const p = (job.shared === "once" ? once() : job.run(db))
        .then((n) => {
          if (n > 0) log.info({ job: job.name, count: n }, "background job");
        })
        .catch((err) => log.error({ err, job: job.name }, "background job failed"))
        .finally(() => running.delete(p));
      running.add(p);
    }, everyMs);
    timer.unref();
    timers.push(timer);
  }
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...running]);
      await locks.close();
    },
  };
}
