/**
 * The Keel API as the benchmarks run it: pino off, background jobs on, on the
 * database named by DATABASE_URL, in KEEL_WORKERS processes sharing the port
 * (node:cluster; each has its own pool, caches and event feed, the database
 * is shared, as with several API processes in production). Prints `ready`.
 */
import cluster from "node:cluster";
import { readConfig } from "../src/config.js";
import { createDb } from "../src/db/pool.js";
import { buildApp } from "../src/http/app.js";
import { startBackgroundJobs } from "../src/jobs.js";

const config = readConfig();
if (!config.databaseUrl) throw new Error("bench/server.ts needs DATABASE_URL");
const workers = Number(process.env.KEEL_WORKERS ?? 1);

if (workers > 1 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on("message", (m) => {
      if (m === "ready" && ++ready === workers) process.stdout.write(`ready ${config.port}\n`);
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const db = createDb(config.databaseUrl, Math.ceil(config.poolSize / workers));
  // the rate limits stay on (their cost is in the figures) but far above what one load generator sends
  const app = await buildApp({
    db,
    logger: false,
    limits: { ...config.http, perPrincipal: 1_000_000_000, perIp: 1_000_000_000 },
  });
  const jobs = startBackgroundJobs(db, app.log);
  await app.listen({ port: config.port, host: "127.0.0.1" });
  if (cluster.isWorker) process.send?.("ready");
  else process.stdout.write(`ready ${config.port}\n`);
  const stop = async () => {
    await app.close();
    await jobs.stop();
    await db.destroy();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
