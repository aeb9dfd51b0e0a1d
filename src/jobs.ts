import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import { sealAudit } from "./access/audit.js";
import { checkLedgerDrift, detectAnomalies, evaluateAlerts } from "./alerts/evaluate.js";
import { sendNotifications } from "./alerts/notify.js";
import { expireApprovals } from "./approvals/decisions.js";
import { readConfig } from "./config.js";
import { refreshAbcRollups } from "./counts/abc-rollup.js";
import type { DB } from "./db/pool.js";
import { processInbox, purgeInbox } from "./integrations/channels/inbox.js";
import { inboxHandlers } from "./integrations/channels/inbox-handlers.js";
import { scheduleReconciles } from "./integrations/channels/shopify/sync-jobs.js";
import { sendWooShipments } from "./integrations/channels/woocommerce/shipments.js";
import { pushDirtyWooStock, reconcileWooStock } from "./integrations/channels/woocommerce/stock.js";
import { failStaleImports } from "./integrations/csv/imports.js";
import { pullStockFeeds } from "./integrations/stock-feed/pull.js";
import { expireReservations } from "./inventory/reservations.js";
import { sendCustomerEmails } from "./notifications/sender.js";
import { sweepBackorders } from "./orders/backorders.js";
import { rollUpSales } from "./replenishment/rollup.js";
import { refreshForecasts } from "./replenishment/stored-forecasts.js";
import { rollUpOrderFacts } from "./reports/order-facts.js";
import { rollUpSalesValue } from "./reports/sales-rollup.js";

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

const INBOX_HANDLERS = inboxHandlers();

const jobs: Job[] = [
  { name: "purge idempotency keys", everyMs: 60 * 60_000, run: purgeIdempotencyKeys },
  {
    name: "expire reservations",
    everyMs: readConfig().sweepIntervalMs || 5000,
    run: (db) => expireReservations(db),
  },
  // sales history for replenishment: sale movements into sales_daily, a few seconds behind the ledger
  { name: "roll up sales", everyMs: 5_000, run: rollUpSales },
  // shipped units, revenue and cost per SKU x channel x day for the sales reports, from the outbox
  { name: "roll up sales value", everyMs: 5_000, run: rollUpSalesValue },
  // one row of figures per order for the fill-rate, cycle-time and cancellation reports, from the outbox
  { name: "roll up order facts", everyMs: 5_000, run: rollUpOrderFacts },
  // demand forecasts for replenishment: at most 10 s of model fitting every 30 s
  {
    name: "refresh demand forecasts",
    everyMs: 30_000,
    run: (db) => refreshForecasts(db, { budgetMs: 10_000 }),
  },
  // ABC classes for the report and for counts by class: each location's list at most 5 minutes old
  { name: "refresh ABC classes", everyMs: 60_000, run: (db) => refreshAbcRollups(db) },
  // backorders missed by an arrival (their order was locked by another transaction at the time)
  { name: "fill backorders", everyMs: 60_000, run: sweepBackorders },
  // CSV imports whose process died mid-file: marked failed (re-importing the file is safe)
  { name: "fail stale imports", everyMs: 30_000, run: failStaleImports },
  // ERP/WMS feeds in pull mode: each due feed asked what changed since its cursor
  { name: "pull stock feeds", everyMs: 5_000, run: pullStockFeeds },
  // alerts open and resolve with their conditions (stock, overdue orders, late receipts, integrations)
  { name: "evaluate alerts", everyMs: 30_000, run: evaluateAlerts },
  // robust z-score anomalies on yesterday's daily series (orders, cancellations, returns, adjustments)
  { name: "detect anomalies", everyMs: 15 * 60_000, run: (db) => detectAnomalies(db) },
  // opened alerts to their notification targets (digests when their window ends)
  { name: "send notifications", everyMs: 5_000, run: (db) => sendNotifications(db) },
  // keel doctor's ledger check: drift between balances and movements becomes ledger_drift alerts
  { name: "check ledger drift", everyMs: 6 * 60 * 60_000, run: checkLedgerDrift },
  // customer e-mails written by the notifications consumer: sent, or retried with backoff
  { name: "send customer e-mails", everyMs: 5_000, run: (db) => sendCustomerEmails(db) },
  // tamper evidence: new audit rows join the hash chain within seconds
  // four-eyes requests past their expiry: marked expired, each audited
  { name: "expire approvals", everyMs: 60_000, run: (db) => expireApprovals(db) },
  { name: "seal audit log", everyMs: 5_000, run: (db) => sealAudit(db) },
  // inbound channel webhooks (Shopify, WooCommerce): stored deliveries applied, oldest first
  { name: "apply channel webhooks", everyMs: 500, run: (db) => processInbox(db, INBOX_HANDLERS) },
  { name: "purge channel webhooks", everyMs: 60 * 60_000, run: (db) => purgeInbox(db) },
  // WooCommerce stock out: SKUs whose stock changed, then every SKU now and then (new SKUs, drift)
  { name: "push WooCommerce stock", everyMs: 2_000, run: (db) => pushDirtyWooStock(db) },
  { name: "reconcile WooCommerce stock", everyMs: 15 * 60_000, run: reconcileWooStock },
  // the daily Shopify reconcile (orders a lost webhook missed, stock drift), queued as a sync job per channel
  { name: "schedule Shopify reconciles", everyMs: 15 * 60_000, run: (db) => scheduleReconciles(db) },
  // shipped fulfilments of WooCommerce orders: a tracking note, and the order completed once all shipped
  { name: "send WooCommerce shipments", everyMs: 2_000, run: (db) => sendWooShipments(db) },
];

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
