/**
 * Reports and dashboard at a small scale, in under ~30 s: a fresh database,
 * the demo catalogue (BENCH_REPORT_SKUS, default 500 SKUs), historical
 * orders in bulk (BENCH_REPORT_ORDERS, default 5,000; scenario 7's
 * generator), the rollups caught up (the sales-value rebuild, since bulk
 * history has no outbox events), then each report's p50 / p99 / max over
 * BENCH_REPORT_REPEAT requests (default 10) against a Keel child process.
 *
 *   npx tsx bench/reports.ts
 *
 * Measurements only; scenario 7 (1,000,000 orders) is where the targets apply.
 */
import { sql } from "kysely";
import { freshDatabase, startKeel, table } from "./lib.js";
import { catchUpReportRollups, reportPaths, timeReports } from "./scenarios/reports.js";

const skus = Number(process.env.BENCH_REPORT_SKUS ?? 500);
const orders = Number(process.env.BENCH_REPORT_ORDERS ?? 5_000);
const repeat = Number(process.env.BENCH_REPORT_REPEAT ?? 10);

const env = await freshDatabase();
try {
  const { seedDemo } = await import("../src/cli/seed/index.js");
  const { generateHistory } = await import("./scenarios/scale.js");
  const { rollUpSales } = await import("../src/replenishment/rollup.js");
  const t0 = performance.now();
  await seedDemo(env.db, { skus, activity: false });
  await generateHistory(env.db, { orders });
  const loadMs = performance.now() - t0;
  await rollUpSales(env.db);
  const steps = await catchUpReportRollups(env.db);
  const loc = (await sql<{ code: string }>`select code from locations order by id limit 1`.execute(env.db))
    .rows[0].code;
  const keel = await startKeel(env.url);
  try {
    const out = await timeReports(keel.base, env.key, reportPaths(loc), repeat);
    console.log(
      table(
        `Reports at ${skus.toLocaleString()} SKUs and ${orders.toLocaleString()} orders (${repeat} requests each)`,
        [{ step: "seed + history", ms: loadMs.toFixed(0) }, ...steps],
      ),
    );
    console.log(table("Endpoints", out));
  } finally {
    await keel.stop();
  }
} finally {
  await env.close();
}
