/**
 * `npm run bench [-- scenario …] [--seconds N]`: runs the benchmarks of
 * bench/README.md on a fresh database and prints one table per scenario.
 */

import fs from "node:fs/promises";
import os from "node:os";
import { sql } from "kysely";
import { freshDatabase, type LoadResult, load, loadStock, startKeel, table, timeEndpoints } from "./lib.js";
import { ceiling } from "./scenarios/ceiling.js";
import { stockFeedThroughput, webhookLag, webhookThroughput } from "./scenarios/integrations.js";
import { placementCeiling } from "./scenarios/placement.js";
import { catchUpReportRollups, reportPaths, timeReports } from "./scenarios/reports.js";

const args = process.argv.slice(2);
const secondsArg = args.indexOf("--seconds");
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 10;
const chosen = args.filter((a, i) => !a.startsWith("--") && (secondsArg < 0 || i !== secondsArg + 1));
const all = [
  "ceiling",
  "reservations",
  "orders",
  "flash",
  "oversell",
  "storefront",
  "webhooks",
  "dispatch",
  "feed",
  "scale",
];
const run = new Set(chosen.length ? chosen : all);

const out: string[] = [];
const print = (s: string) => {
  out.push(s);
  process.stdout.write(`${s}\n`);
};
print(
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString()}`,
);
print(`Command: npm run bench -- ${args.join(" ")}\n`);

const env = await freshDatabase();
const SKUS = 10_000;
await loadStock(env.db, { skus: SKUS, locations: ["WH1", "WH2"], onHand: 100_000 });
const ids = await sql<{ id: number; sku: string }>`select id, sku from variants order by id`.execute(env.db);
const variantIds = ids.rows.map((r) => r.id);
const skus = ids.rows.map((r) => r.sku);
const wh1 = (await sql<{ id: number }>`select id from locations where code = 'WH1'`.execute(env.db)).rows[0]
  .id;
const auth = { authorization: `Bearer ${env.key}` };
const pick = () => skus[Math.floor(Math.random() * skus.length)];

const results: Record<string, number> = {};
/** Two seconds of the same load before each measured run: JIT, plan caches and the storefront cache warm. */
const measured = async (o: Parameters<typeof load>[0], before?: () => Promise<void>) => {
  await load({ ...o, duration: 2 });
  await before?.();
  return load(o);
};
/** CPU per answered request, by process: where the two cores went. */
const cpu = (r: LoadResult) => ({
  "CPU ms/req: Keel": r.cpuMs.keel,
  PostgreSQL: r.cpuMs.postgres,
  "load generator": r.cpuMs.generator,
});
try {
  if (run.has("ceiling") || run.has("reservations") || run.has("flash")) {
    const spread = await ceiling({ url: env.url, clients: 64, seconds, variantIds, locationId: wh1 });
    const hot = await ceiling({
      url: env.url,
      clients: 64,
      seconds,
      variantIds: [variantIds[0]],
      locationId: wh1,
    });
    results.ceiling = spread.tps;
    results.ceilingHot = hot.tps;
    print(
      table("1. Ceiling: the reservation as one SQL statement through pg, 64 clients", [
        { rows: `${SKUS} SKUs`, "statements/s": spread.tps, errors: spread.errors },
        { rows: "1 SKU (hot row)", "statements/s": hot.tps, errors: hot.errors },
      ]),
    );
  }

  const keel = await startKeel(env.url);
  try {
    if (run.has("reservations")) {
      const r = await measured({
        url: `${keel.base}/v1/reservations`,
        method: "POST",
        connections: 64,
        duration: seconds,
        headers: auth,
        body: () => JSON.stringify({ lines: [{ sku: pick(), quantity: 1 }] }),
      });
      print(
        table("2. POST /v1/reservations, 1 line, 10,000 SKUs, 64 connections", [
          {
            "req/s": r.rps,
            "p50 ms": r.p50,
            "p99 ms": r.p99,
            "ratio to 1": r.rps / results.ceiling,
            statuses: JSON.stringify(r.statuses),
            errors: r.errors,
            ...cpu(r),
          },
        ]),
      );
    }

    let buyer = 0;
    const address = {
      name: "Bench Buyer",
      line1: "Hauptstr. 1",
      city: "Berlin",
      postal_code: "10115",
      country: "DE",
    };
    const orderBody = () => {
      buyer += 1;
      const lines = [...new Set([pick(), pick(), pick()])].map((sku) => ({
        sku,
        quantity: 1,
        unit_price: 1000,
      }));
      return {
        currency: "EUR",
        lines,
        customer: { email: `buyer${buyer}@example.com`, name: "Bench Buyer" },
        shipping_address: address,
        payment: { status: "paid" as const, amount: lines.length * 1000 },
      };
    };
    /** Scenario 3's load: 64 connections placing paid 3-line orders for `seconds`. */
    const placeOrders = () =>
      measured({
        url: `${keel.base}/v1/orders`,
        method: "POST",
        connections: 64,
        duration: seconds,
        headers: auth,
        body: () => JSON.stringify(orderBody()),
      });
    if (run.has("orders")) {
      const r = await placeOrders();
      print(
        table("3. POST /v1/orders, 3 lines, 10,000 SKUs, 64 connections (paid, auto-approved)", [
          {
            "orders/s": r.rps,
            "p50 ms": r.p50,
            "p99 ms": r.p99,
            statuses: JSON.stringify(r.statuses),
            errors: r.errors,
            ...cpu(r),
          },
        ]),
      );
      const direct = await placementCeiling({ db: env.db, body: orderBody, seconds, batch: 32, parallel: 3 });
      print(
        table(
          "3b. The same orders without HTTP: Keel's batch placement in-process, 3 batches of 32 in flight",
          [
            {
              "orders/s": Math.round(direct.ops),
              "CPU ms/order: Node": direct.cpu.node.toFixed(2),
              PostgreSQL: direct.cpu.postgres.toFixed(2),
            },
          ],
        ),
      );
    }

    if (run.has("flash")) {
      await sql`update inventory_levels set on_hand = on_hand + 1000000 where variant_id = ${variantIds[1]} and location_id = ${wh1}`.execute(
        env.db,
      );
      await sql`insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
                values (${variantIds[1]}, ${wh1}, 'on_hand', 1000000, 'initial', 'bench', 'bench')`.execute(
        env.db,
      );
      const hotSku = skus[1];
      let reservedBefore = 0;
      const r = await measured(
        {
          url: `${keel.base}/v1/reservations`,
          method: "POST",
          connections: 256,
          duration: seconds,
          headers: auth,
          body: () => JSON.stringify({ lines: [{ sku: hotSku, quantity: 1, location: "WH1" }] }),
        },
        async () => {
          reservedBefore = (
            await sql<{ reserved: number }>`
              select reserved from inventory_levels where variant_id = ${variantIds[1]} and location_id = ${wh1}`.execute(
              env.db,
            )
          ).rows[0].reserved;
        },
      );
      const held = await sql<{ reserved: number; on_hand: number }>`
        select reserved, on_hand from inventory_levels where variant_id = ${variantIds[1]} and location_id = ${wh1}`.execute(
        env.db,
      );
      print(
        table("4. Flash sale: one SKU, 256 connections reserving 1 unit each", [
          {
            "reservations/s": r.rps,
            "p50 ms": r.p50,
            "p99 ms": r.p99,
            "ratio to hot-row ceiling": r.rps / results.ceilingHot,
            "201s": r.statuses["201"] ?? 0,
            "reserved bucket": held.rows[0].reserved - reservedBefore,
            errors: r.errors,
            ...cpu(r),
          },
        ]),
      );
    }

    if (run.has("oversell")) {
      await loadStock(env.db, { skus: 1, locations: ["WH1"], onHand: 1000, prefix: "OVERSELL" });
      const r = await load({
        url: `${keel.base}/v1/reservations`,
        method: "POST",
        connections: 256,
        amount: 2000,
        headers: auth,
        body: () => JSON.stringify({ lines: [{ sku: "OVERSELL-1", quantity: 1 }] }),
      });
      const level = await sql<{ on_hand: number; reserved: number }>`
        select on_hand, reserved from inventory_levels il join variants v on v.id = il.variant_id where v.sku = 'OVERSELL-1'`.execute(
        env.db,
      );
      const { auditLedger } = await import("../src/inventory/audit.js");
      const drift = await auditLedger(env.db);
      print(
        table("5. Oversell under load: 1 SKU with 1,000 units, 2,000 buyers, 256 connections", [
          {
            "201 (held)": r.statuses["201"] ?? 0,
            "409 (refused)": r.statuses["409"] ?? 0,
            other: r.total - (r.statuses["201"] ?? 0) - (r.statuses["409"] ?? 0),
            "reserved bucket": level.rows[0].reserved,
            "ledger drift rows": drift.length,
          },
        ]),
      );
    }

    if (run.has("storefront")) {
      const r = await measured({
        url: `${keel.base}/v1/storefront/availability`,
        connections: 64,
        duration: seconds,
        path: () => `/v1/storefront/availability?skus=${Array.from({ length: 10 }, pick).join(",")}`,
      });
      print(
        table("6. GET /v1/storefront/availability, 10 SKUs per request, 64 connections", [
          {
            "req/s": r.rps,
            "p50 ms": r.p50,
            "p99 ms": r.p99,
            statuses: JSON.stringify(r.statuses),
            errors: r.errors,
            ...cpu(r),
          },
        ]),
      );
    }
    if (run.has("webhooks")) {
      const rows = [];
      for (const subscriptions of [1, 8]) {
        const events = subscriptions === 1 ? 20_000 : 5_000;
        const w = await webhookThroughput({ db: env.db, base: keel.base, auth, events, subscriptions });
        rows.push({
          subscriptions,
          events,
          deliveries: w.delivered,
          seconds: w.seconds,
          "deliveries/s": w.perSecond,
          complete: w.complete ? "yes" : "NO",
        });
      }
      print(table("8. Webhook deliveries to a local receiver, events committed in bulk", rows));
    }

    if (run.has("dispatch")) {
      // 3 without and with a subscription receiving every event, then the lag at a fixed 1,000 orders/s
      const plain = await placeOrders();
      const { createServer } = await import("node:http");
      const sink = createServer((req, res) => {
        req.resume();
        req.on("end", () => res.writeHead(200).end());
      });
      await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
      const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/all`;
      const sub = await fetch(`${keel.base}/v1/webhook-subscriptions`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ url: sinkUrl, events: ["*"] }),
      }).then((r) => r.json() as Promise<{ id: number }>);
      const hooked = await placeOrders();
      await fetch(`${keel.base}/v1/webhook-subscriptions/${sub.id}`, { method: "DELETE", headers: auth });
      sink.close();
      const lag = await webhookLag({ base: keel.base, auth, rate: 1000, seconds, orderBody });
      print(
        table("9. The dispatcher's cost to scenario 3, and the order-to-webhook lag at a fixed rate", [
          {
            run: "3 without subscriptions",
            "orders/s": plain.rps,
            "p99 ms": plain.p99,
            "lag p50 ms": "",
            "lag p99 ms": "",
          },
          {
            run: "3 with one subscription to every event",
            "orders/s": hooked.rps,
            "p99 ms": hooked.p99,
            "lag p50 ms": "",
            "lag p99 ms": "",
          },
          {
            run: `orders at 1,000/s offered (${lag.ordersPerSecond.toFixed(0)}/s placed), order.placed webhooks: ${lag.delivered}/${lag.created}`,
            "orders/s": lag.ordersPerSecond,
            "p99 ms": "",
            "lag p50 ms": lag.p50,
            "lag p99 ms": lag.p99,
          },
        ]),
      );
    }

    if (run.has("feed")) {
      const rows = [];
      let round = 0;
      for (const clients of [1, 2]) {
        const f = await stockFeedThroughput({
          base: keel.base,
          auth,
          skus,
          locations: ["WH1", "WH2"],
          batch: 1000,
          clients,
          round: round++,
        });
        rows.push({
          clients,
          levels: f.levels,
          applied: f.applied,
          seconds: f.seconds,
          "levels/s": f.perSecond,
          "batch p50 ms": f.p50,
          "batch p99 ms": f.p99,
        });
      }
      print(
        table("10. Stock feed: 10,000 SKUs × 2 locations in batches of 1,000 (every level changes)", rows),
      );
    }
  } finally {
    await keel.stop();
  }
} finally {
  await env.close();
}
if (run.has("scale")) await scale();

async function scale() {
  const big = await freshDatabase();
  try {
    const { seedDemo } = await import("../src/cli/seed/index.js");
    const { generateHistory } = await import("./scenarios/scale.js");
    let t0 = performance.now();
    await seedDemo(big.db, { skus: 25_000, activity: false });
    const seedMs = performance.now() - t0;
    const orders = Number(process.env.BENCH_ORDERS ?? 1_000_000);
    t0 = performance.now();
    await generateHistory(big.db, {
      orders,
      onProgress: (done) =>
        process.stderr.write(`\r  history: ${done.toLocaleString()} / ${orders.toLocaleString()} orders`),
    });
    process.stderr.write("\n");
    const historyMs = performance.now() - t0;
    // what the background jobs do after such a load, here to the end before timing the endpoints
    const { rollUpSales } = await import("../src/replenishment/rollup.js");
    const { refreshForecasts } = await import("../src/replenishment/stored-forecasts.js");
    t0 = performance.now();
    const rolledUp = await rollUpSales(big.db);
    const rollupMs = performance.now() - t0;
    t0 = performance.now();
    const forecasts = await refreshForecasts(big.db, { budgetMs: Number.POSITIVE_INFINITY, batchSize: 200 });
    const forecastMs = performance.now() - t0;
    const { refreshAbcRollups } = await import("../src/counts/abc-rollup.js");
    t0 = performance.now();
    const abcLists = await refreshAbcRollups(big.db);
    const abcMs = performance.now() - t0;
    // the report rollups (sales value, order facts) and the alert evaluator after the bulk load
    const reportSteps = await catchUpReportRollups(big.db);
    const counts = await sql<Record<string, number>>`
      select (select count(*) from orders)::int as orders, (select count(*) from order_lines)::int as lines,
             (select count(*) from inventory_movements)::int as movements`.execute(big.db);
    print(
      table(
        `7a. Seed-scale data: 25,000 SKUs and ${orders.toLocaleString()} historical orders, generated in bulk`,
        [
          { step: "catalogue and stock (keel seed --demo --skus 25000)", seconds: seedMs / 1000 },
          { step: `history: ${JSON.stringify(counts.rows[0])}`, seconds: historyMs / 1000 },
          {
            step: `sales rollup catching up: ${rolledUp.toLocaleString()} sale movements`,
            seconds: rollupMs / 1000,
          },
          {
            step: `demand forecasts: ${forecasts.toLocaleString()} SKU × location pairs (the job's daily work)`,
            seconds: forecastMs / 1000,
          },
          {
            step: `ABC classification: ${abcLists} location × window lists (the job repeats it every 5 minutes)`,
            seconds: abcMs / 1000,
          },
          ...reportSteps.map((r) => ({ step: r.step, seconds: Number(r.ms) / 1000 })),
        ],
      ),
    );
    const server = await startKeel(big.url);
    const h = { authorization: `Bearer ${big.key}` };
    try {
      const sample = await sql<{ id: number; number: string; sku: string }>`
        select o.id, o.number, (select sku from order_lines where order_id = o.id limit 1) as sku
        from orders o where o.external_id = 'hist-500000' or o.id = (select max(id) / 2 from orders) limit 1`.execute(
        big.db,
      );
      const { id, number, sku } = sample.rows[0];
      const endpoints = [
        "/v1/orders?limit=50",
        "/v1/orders?status=completed&sort=newest&limit=50",
        "/v1/orders?status=cancelled&limit=50",
        "/v1/orders?channel=manual&sort=newest&limit=50",
        "/v1/orders?overdue=true&limit=50",
        `/v1/orders/${id}`,
        `/v1/orders/${number}`,
        "/v1/fulfillments?location=WH-EAST&status=picking",
        "/v1/products?q=hood&limit=50",
        "/v1/products?status=active&limit=50",
        `/v1/variants/${encodeURIComponent(sku)}`,
        `/v1/inventory/levels?sku=${encodeURIComponent(sku)}`,
        "/v1/inventory/levels?location=WH-EAST&limit=100",
        `/v1/inventory/availability?sku=${encodeURIComponent(sku)}`,
        `/v1/inventory/movements?sku=${encodeURIComponent(sku)}&limit=100`,
        `/v1/inventory/movements?reference=order:${id}`,
        "/v1/inventory/movements?limit=100",
        "/v1/returns?limit=50",
        "/v1/purchase-orders?limit=50",
        "/v1/replenishment/suggestions?location=WH-EAST",
        "/v1/replenishment/suggestions?location=WH-EAST&all=true&limit=500",
        `/v1/replenishment/suggestions?location=WH-EAST&sku=${encodeURIComponent(sku)}`,
        "/v1/reports/abc-classes?location=WH-EAST",
        "/v1/reports/inventory-accuracy",
        "/v1/events?limit=100",
        `/v1/storefront/availability?skus=${encodeURIComponent(sku)}`,
      ];
      const rows = await timeEndpoints(server.base, h, endpoints);
      print(table(`7b. Read endpoints at that scale (5 timed requests each after a warm-up)`, rows));
      const reportRepeat = Number(process.env.BENCH_REPORT_REPEAT ?? 20);
      const reports = await timeReports(server.base, big.key, reportPaths("WH-EAST"), reportRepeat);
      print(
        table(
          `7c. Every report and the dashboard at that scale (${reportRepeat} timed requests each)`,
          reports,
        ),
      );
    } finally {
      await server.stop();
    }
  } finally {
    await big.close();
  }
}

await fs.mkdir("bench/results", { recursive: true });
await fs.writeFile("bench/results/latest.md", `${out.join("\n")}\n`);
