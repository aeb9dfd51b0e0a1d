import cliProgress from "cli-progress";
import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { ShopifyPusher } from "../integrations/channels/shopify/push.js";
import { getSyncJob, requestSync, SyncRunner } from "../integrations/channels/shopify/sync-jobs.js";
import { shopifyChannels } from "../integrations/channels/shopify/targets.js";
import { CliError } from "./database.js";

/**
 * `keel channel sync CODE [--what inventory|products|orders|reconcile] [--full]`:
 * queues the same job as POST /v1/channels/{code}/sync and runs it in this
 * process (a running Keel server may take part: jobs and levels are leased with
 * SKIP LOCKED, so nothing is sent twice), then, for a Shopify channel, sends the
 * levels it queued until none is pending, with a progress bar on stderr. Prints
 * the job's report (JSON) and a summary line to stdout.
 */

type What = "inventory" | "products" | "orders" | "reconcile";

const pendingOf = async (db: DB, channelId: number) =>
  Number(
    (
      await sql<{ n: number }>`select count(*)::int as n from shopify_stock_targets
        where channel_id = ${channelId} and state = 'dirty'`.execute(db)
    ).rows[0].n,
  );

export async function channelSyncCommand(
  db: DB,
  code: string,
  opts: { what?: What; full?: boolean; quiet?: boolean },
): Promise<number> {
  const what = opts.what ?? "inventory";
  const started = Date.now();
  const job = await inTransaction(db, (tx) => requestSync(tx, code, what, opts.full === true)).catch(
    (err: Error & { extra?: { errors?: { message: string }[] } }) => {
      throw new CliError(err.extra?.errors?.map((e) => e.message).join("; ") ?? err.message, 1);
    },
  );
  const pusher = new ShopifyPusher(db);
  const runner = new SyncRunner(db, pusher);
  // ours, unless a server leased it first: then it is watched until done
  for (;;) {
    await runner.runNext(job.id);
    const now = await getSyncJob(db, code, job.id);
    if (now && (now.status === "done" || now.status === "failed")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const done = (await getSyncJob(db, code, job.id))!;
  if (done.status === "failed") {
    process.stderr.write(`keel: sync job ${job.id} failed: ${done.error}\n`);
    return 1;
  }
  const [ch] = await shopifyChannels(db, code);
  let pushed = 0;
  if (ch && (what === "inventory" || what === "reconcile")) {
    const total = await pendingOf(db, ch.id);
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `Pushing ${code} [{bar}] {percentage}% | {value}/{total} levels | {rate}/s | {eta_formatted} left`,
        hideCursor: true,
        noTTYOutput: !opts.quiet,
        notTTYSchedule: 2000,
      },
      cliProgress.Presets.shades_classic,
    );
    if (!opts.quiet) bar.start(total, 0, { rate: "0" });
    const t0 = Date.now();
    let idle = 0;
    try {
      for (;;) {
        const n = await pusher.pushChannel(ch);
        pushed += n;
        const left = await pendingOf(db, ch.id);
        const rate = (Math.max(0, total - left) / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(0);
        if (!opts.quiet) bar.update(Math.max(0, total - left), { rate });
        if (left === 0) break;
        // nothing sent: Shopify is away (the pusher backs off) or a server holds the rows
        idle = n === 0 ? idle + 1 : 0;
        if (idle > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * idle)));
      }
    } finally {
      if (!opts.quiet) bar.stop();
    }
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ job: done.id, what, full: done.full, ...done.progress })}\n`);
  process.stdout.write(
    `${code}: ${what}${done.full ? " (full)" : ""} done in ${seconds.toFixed(1)} s` +
      (ch && (what === "inventory" || what === "reconcile") ? `, ${pushed} levels settled` : "") +
      "\n",
  );
  return 0;
}
