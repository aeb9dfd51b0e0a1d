import type { DB } from "../../src/db/pool.js";

/**
 * What the report benchmarks share (bench/reports.ts at a small scale, scenario
 * 7 at 1,000,000 orders): the rollups caught up after a bulk load, and every
 * report of API.md plus the dashboard, timed as p50 / p99 / max.
 */
export async function catchUpReportRollups(db: DB): Promise<Array<{ step: string; ms: string }>> {
  const { rebuildSalesValue } = await import("../../src/reports/sales-rollup.js");
  const { rebuildOrderFacts } = await import("../../src/reports/order-facts.js");
  const { evaluateAlerts } = await import("../../src/alerts/evaluate.js");
  let t0 = performance.now();
  // bulk history has no outbox events: the rollups are rebuilt, as after a restore or a migration
  const rows = await rebuildSalesValue(db);
  const rebuildMs = performance.now() - t0;
  t0 = performance.now();
  const facts = await rebuildOrderFacts(db);
  const factsMs = performance.now() - t0;
  t0 = performance.now();
  const alerts = await evaluateAlerts(db);
  const alertMs = performance.now() - t0;
  return [
    { step: `sales-value rollup rebuilt (${rows.toLocaleString()} rows)`, ms: rebuildMs.toFixed(0) },
    { step: `order-facts rollup rebuilt (${facts.toLocaleString()} orders)`, ms: factsMs.toFixed(0) },
    { step: `alert evaluation (${alerts} opened)`, ms: alertMs.toFixed(0) },
  ];
}

export function reportPaths(location: string): string[] {
  return [
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
    `/v1/reports/stock-valuation?location=${location}`,
    `/v1/reports/aged-inventory?location=${location}`,
    `/v1/reports/critical-stock?location=${location}`,
    `/v1/reports/stockout-risk?location=${location}`,
    "/v1/alerts?status=open",
  ];
}

/** p50 / p99 / max of `repeat` requests per path, after one that warms the plan cache. */
export async function timeReports(
  base: string,
  key: string,
  paths: string[],
  repeat: number,
): Promise<Record<string, string | number>[]> {
  const out: Record<string, string | number>[] = [];
  for (const path of paths) {
    const times: number[] = [];
    let status = 0;
    for (let i = 0; i <= repeat; i++) {
      const t = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      status = res.status;
      if (i > 0) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)].toFixed(1);
    out.push({ endpoint: `GET ${path}`, status, "p50 ms": q(0.5), "p99 ms": q(0.99), "max ms": q(1) });
  }
  return out;
}
