/**
 * The Keel API as the benchmarks run it: one process, pino off, background
 * jobs on, on the database named by DATABASE_URL. Prints `ready <port>`.
 */
import { readConfig } from "../src/config.js";
import { createDb } from "../src/db/pool.js";
import { buildApp } from "../src/http/app.js";
import { startBackgroundJobs } from "../src/jobs.js";

const config = readConfig();
if (!config.databaseUrl) throw new Error("bench/server.ts needs DATABASE_URL");
const db = createDb(config.databaseUrl, config.poolSize);
const app = await buildApp({ db, logger: false });
const jobs = startBackgroundJobs(db, app.log);
await app.listen({ port: config.port, host: "127.0.0.1" });
process.stdout.write(`ready ${config.port}\n`);
const stop = async () => {
  await app.close();
  await jobs.stop();
  await db.destroy();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
