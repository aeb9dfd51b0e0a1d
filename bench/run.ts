/**
 * `npm run bench [-- scenario …] [--seconds N]`: runs the benchmarks of
 * bench/README.md on a fresh database and prints one table per scenario.
 */

import fs from "node:fs/promises";
import os from "node:os";
import { sql } from "kysely";
import { freshDatabase, load, loadStock, startKeel, table } from "./lib.js";
import { ceiling } from "./scenarios/ceiling.js";

const args = process.argv.slice(2);
const secondsArg = args.indexOf("--seconds");
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 10;
const chosen = args.filter((a, i) => !a.startsWith("--") && (secondsArg < 0 || i !== secondsArg + 1));
const all = ["ceiling", "reservations", "orders", "flash", "oversell", "storefront", "scale"];
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
      const r = await load({
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
          },
        ]),
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
      const r = await load({
        url: `${keel.base}/v1/reservations`,
        method: "POST",
        connections: 256,
        duration: seconds,
        headers: auth,
        body: () => JSON.stringify({ lines: [{ sku: hotSku, quantity: 1, location: "WH1" }] }),
      });
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
            "reserved bucket": held.rows[0].reserved,
            errors: r.errors,
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
      const r = await load({
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
          },
        ]),
      );
    }
  } finally {
    await keel.stop();
  }
} finally {
  await env.close();
}
await fs.mkdir("bench/results", { recursive: true });
await fs.writeFile("bench/results/latest.md", `${out.join("\n")}\n`);
