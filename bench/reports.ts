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

const skus = Number(process.env.BENCH_REPORT_SKUS ?? 500);
const orders = Number(process.env.BENCH_REPORT_ORDERS ?? 5_000);
const repeat = Number(process.env.BENCH_REPORT_REPEAT ?? 10);

const env = await freshDatabase();
try {
  const { seedDemo } = await import("../src/cli/seed/index.js");
  const { generateHistory } = await import("./scenarios/scale.js");
  const { rebuildSalesValue } = await import("../src/reports/sales-rollup.js");
  const { rebuildOrderFacts } = await import("../src/reports/order-facts.js");
  const { rollUpSales } = await import("../src/replenishment/rollup.js");
  const { evaluateAlerts } = await import("../src/alerts/evaluate.js");
  let t0 = performance.now();
  await seedDemo(env.db, { skus, activity: false });
  await generateHistory(env.db, { orders });
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  const rows = await rebuildSalesValue(env.db);
  const rebuildMs = performance.now() - t0;
  t0 = performance.now();
  const facts = await rebuildOrderFacts(env.db);
  const factsMs = performance.now() - t0;
  await rollUpSales(env.db);
  t0 = performance.now();
  const alerts = await evaluateAlerts(env.db);
  const alertMs = performance.now() - t0;
  const loc = (await sql<{ code: string }>`select code from locations order by id limit 1`.execute(env.db))
    .rows[0].code;
  const keel = await startKeel(env.url);
  try {
    const paths = [
      "/v1/dashboard",
      "/v1/reports/order-status",
      "/v1/reports/order-aging",
      "/v1/reports/sales-ranking?by=revenue",
      "/v1/reports/sales-ranking?by=units&order=least&limit=50",
      "/v1/reports/returns?by=sku",
      "/v1/reports/cancellations?by=channel",
      "/v1/reports/cancellations?by=reason",
      "/v1/reports/fill-rate",
      "/v1/reports/cycle-time",
      "/v1/reports/backorders",
      "/v1/reports/supplier-performance",
      `/v1/reports/stock-valuation?location=${loc}`,
      `/v1/reports/aged-inventory?location=${loc}`,
      `/v1/reports/critical-stock?location=${loc}`,
      `/v1/reports/stockout-risk?location=${loc}`,
      "/v1/alerts?status=open",
    ];
    const out: Record<string, string | number>[] = [];
    for (const path of paths) {
      const times: number[] = [];
      let status = 0;
      for (let i = 0; i <= repeat; i++) {
        const t = performance.now();
        const res = await fetch(`${keel.base}${path}`, { headers: { authorization: `Bearer ${env.key}` } });
        await res.arrayBuffer();
        status = res.status;
        if (i > 0) times.push(performance.now() - t); // the first warms the plan cache
      }
      times.sort((a, b) => a - b);
      const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)].toFixed(1);
      out.push({ endpoint: `GET ${path}`, status, "p50 ms": q(0.5), "p99 ms": q(0.99), "max ms": q(1) });
    }
    console.log(
      table(
        `Reports at ${skus.toLocaleString()} SKUs and ${orders.toLocaleString()} orders (${repeat} requests each)`,
        [
          { step: "seed + history", ms: loadMs.toFixed(0) },
          { step: `sales-value rebuild (${rows} rows)`, ms: rebuildMs.toFixed(0) },
          { step: `order-facts rebuild (${facts} orders)`, ms: factsMs.toFixed(0) },
          { step: `alert evaluation (${alerts} opened)`, ms: alertMs.toFixed(0) },
        ],
      ),
    );
    console.log(table("Endpoints", out));
  } finally {
    await keel.stop();
  }
} finally {
  await env.close();
}
