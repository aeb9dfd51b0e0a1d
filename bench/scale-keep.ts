/**
 * Scenario 7's data in a database that is kept, so read endpoints can be timed
 * again (after a change, with EXPLAIN ANALYZE at hand) without generating the
 * history again. `npm run bench -- scale` always starts from a fresh database
 * and drops it; this does not.
 *
 *   BENCH_KEEP_DB=/tmp/keel-scale BENCH_ORDERS=200000 npx tsx bench/scale-keep.ts [path …]
 *
 * BENCH_KEEP_DB is a directory for an embedded PostgreSQL (started, or reused
 * when already running there), or with DATABASE_URL the name of a database on
 * that server. The first run migrates, seeds 25,000 SKUs and generates
 * BENCH_ORDERS historical orders (default 1,000,000); every run applies new
 * migrations, lets the background jobs catch up (sales rollup, forecasts, ABC
 * rollup) and times the given paths (default: the replenishment and report
 * reads of scenario 7), 5 requests each after a warm-up.
 */
import { sql } from "kysely";
import { type EmbeddedServer, ensureDatabase, startEmbedded } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { createDb } from "../src/db/pool.js";
import { createApiKey } from "../src/http/auth.js";
import { startKeel, table, timeEndpoints } from "./lib.js";

const keep = process.env.BENCH_KEEP_DB;
if (!keep) throw new Error("set BENCH_KEEP_DB (a directory, or a database name with DATABASE_URL)");
const paths = process.argv.slice(2);
const endpoints = paths.length
  ? paths
  : [
      "/v1/replenishment/suggestions?location=WH-EAST",
      "/v1/replenishment/suggestions?location=WH-EAST&all=true&limit=500",
      "/v1/reports/abc-classes?location=WH-EAST",
      "/v1/reports/abc-classes?location=WH-EAST&days=30",
    ];

let server: EmbeddedServer | undefined;
let url: string;
if (process.env.DATABASE_URL) {
  await ensureDatabase(process.env.DATABASE_URL, keep);
  const u = new URL(process.env.DATABASE_URL);
  u.pathname = `/${keep}`;
  url = u.toString();
} else {
  server = await startEmbedded({ dataDir: keep, database: "keel_scale", settings: { max_connections: 400 } });
  url = server.url;
}
await migrate(url);
const db = createDb(url, 20);
const steps: Record<string, string | number>[] = [];
const step = async <T>(name: (r: T) => string, work: () => Promise<T>) => {
  const t0 = performance.now();
  const r = await work();
  steps.push({ step: name(r), seconds: (performance.now() - t0) / 1000 });
  return r;
};
try {
  const orders = await sql<{ n: number }>`select count(*)::int as n from orders`.execute(db);
  if (orders.rows[0].n === 0) {
    const { seedDemo } = await import("../src/cli/seed/index.js");
    const { generateHistory } = await import("./scenarios/scale.js");
    const n = Number(process.env.BENCH_ORDERS ?? 1_000_000);
    await step(
      () => "seed 25,000 SKUs",
      () => seedDemo(db, { skus: 25_000, activity: false }),
    );
    await step(
      () => `history: ${n.toLocaleString()} orders`,
      () =>
        generateHistory(db, {
          orders: n,
          onProgress: (done) => process.stderr.write(`\r  history: ${done.toLocaleString()} orders`),
        }),
    );
    process.stderr.write("\n");
  }
  const { rollUpSales } = await import("../src/replenishment/rollup.js");
  const { refreshForecasts } = await import("../src/replenishment/stored-forecasts.js");
  const { refreshAbcRollups } = await import("../src/counts/abc-rollup.js");
  await step(
    (n) => `sales rollup: ${n} movements`,
    () => rollUpSales(db),
  );
  await step(
    (n) => `forecasts: ${n}`,
    () => refreshForecasts(db, { budgetMs: Number.POSITIVE_INFINITY, batchSize: 200 }),
  );
  await step(
    (n) => `ABC rollup: ${n} location × window classifications`,
    () => refreshAbcRollups(db),
  );
  console.log(table("Catching up", steps));
  const { key } = await createApiKey(db, "bench-keep");
  const keel = await startKeel(url);
  try {
    const rows = await timeEndpoints(keel.base, { authorization: `Bearer ${key}` }, endpoints);
    console.log(table("Read endpoints (5 timed requests each after a warm-up)", rows));
  } finally {
    await keel.stop();
  }
} finally {
  await db.destroy();
  await server?.stop();
}
