import cluster from "node:cluster";
import path from "node:path";
import { sql } from "kysely";
import pino from "pino";
import { type KeelConfig, readConfig } from "../config.js";
import { createDb } from "../db/pool.js";
import { buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { LOG_REDACT } from "../http/hardening.js";
import { startBackgroundJobs } from "../jobs.js";
import { loadSecretKey, SecretKeyError, setSecretKey } from "../secrets/box.js";
import { sealStoredSecrets } from "../secrets/rewrite.js";
import { CliError, type Connection, connect, describe } from "./database.js";
import { seedDemo } from "./seed/index.js";
import { expectConnectionLoss, onShutdownSignal } from "./signals.js";
import { ensureFirstAdmin } from "./user.js";

/** Longest a shutdown may take before Keel gives up waiting and exits 1. */
export const SHUTDOWN_TIMEOUT_MS = 20_000;

export type Log = pino.Logger;

/** Logs (pino, JSON) to stderr, synchronously so nothing is lost at exit. */
export function startLog(config: KeelConfig): { log: Log; stream: pino.DestinationStream } {
  const stream = pino.destination({ dest: 2, sync: true });
  return {
    log: pino({ level: config.logLevel, base: { name: "keel" }, redact: LOG_REDACT }, stream),
    stream,
  };
}

/**
 * Secrets at rest: this process's key (KEEL_SECRET, else the key file in the
 * data directory), and any secret stored in plain text before encryption
 * encrypted now. Every process that serves needs the key (each cluster worker
 * too); `seal` only where the database was prepared.
 */
export async function prepareSecrets(
  conn: Connection,
  config: KeelConfig,
  log: Log,
  opts: { seal: boolean } = { seal: true },
): Promise<void> {
  try {
    const key = loadSecretKey({ secret: config.secret, dataDir: config.dataDir });
    setSecretKey(key);
    if (!opts.seal) return;
    const { sealed } = await sealStoredSecrets(conn.db, key);
    if (sealed > 0) log.info({ sealed, key_id: key.id }, "secrets stored in plain text are now encrypted");
    if (!config.secret && !conn.embedded) {
      log.warn(
        { key_file: key.source },
        "secrets are encrypted with a key file on this host: set KEEL_SECRET when several hosts share the database, and keep the key with your backups",
      );
    }
  } catch (err) {
    await conn.close().catch(() => {});
    if (err instanceof SecretKeyError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * `keel start`: database (embedded unless DATABASE_URL), migrations, demo
 * data on the embedded database's first run, HTTP API and background jobs.
 * Logs (pino, JSON) go to stderr; the address and the API key to stdout,
 * and on a database without users the first admin's sign-in (created here).
 * SIGINT/SIGTERM: stop taking requests and drain them, stop the jobs, close
 * the pool, stop the embedded server if this process started it, exit 0.
 * With `workers` > 1 the process forks that many workers on one port
 * (src/cli/cluster.ts); a worker is this same command in a cluster worker.
 */
export async function startCommand(opts: { workers?: number } = {}): Promise<void> {
  if (cluster.isWorker) {
    const { serveWorker } = await import("./cluster.js");
    return serveWorker();
  }
  if ((opts.workers ?? 1) > 1) {
    const { startCluster } = await import("./cluster.js");
    return startCluster(opts.workers ?? 1);
  }
  const config = readConfig();
  const { log, stream } = startLog(config);
  const started = performance.now();

  const conn = await connect(config, {
    poolSize: config.poolSize,
    migrate: true,
    log: (line) => log.debug({ postgres: line.trimEnd() }, "postgres"),
  });
  if (conn.applied.length > 0) log.info({ applied: conn.applied }, "migrations applied");
  await prepareSecrets(conn, config, log);

  let server: Served | undefined;
  stopOnSignal(log, async () => {
    await server?.stop();
    await conn.close();
  });

  try {
    await loadDemoOnFirstRun(conn, log);
    server = await serve(conn, config, stream);
    const port = server.port;
    await printReady(conn, config, port, started, "");
  } catch (err) {
    // failed before we were serving: undo what was started, then report
    await server?.stop().catch(() => {});
    await conn.close().catch(() => {});
    throw err;
  }
  await new Promise<never>(() => {}); // runs until a signal ends the process
}

/**
 * On the first signal: `stop`, log how long it took, exit 0 (1 when it fails
 * or takes longer than SHUTDOWN_TIMEOUT_MS); on a second: exit 1 at once.
 * Returns the shutdown, for a primary's message to start it.
 */
export function stopOnSignal(log: Log, stop: () => Promise<void>): (signal: NodeJS.Signals) => void {
  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals, repeatExits = true) => {
    if (shuttingDown) {
      if (!repeatExits) return;
      log.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    shuttingDown = true;
    expectConnectionLoss();
    log.info({ signal }, "shutting down");
    const stopping = performance.now();
    const timer = setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, "shutdown took too long, exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    stop()
      .then(() => {
        log.info({ ms: Math.round(performance.now() - stopping) }, "stopped");
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      });
  };
  onShutdownSignal((signal) => shutdown(signal));
  return (signal) => shutdown(signal, false);
}

/** The demo shop, on the embedded database's first run. */
export async function loadDemoOnFirstRun(conn: Connection, log: Log): Promise<void> {
  if (!conn.embedded) return;
  const products = await sql<{ n: number }>`select count(*)::int as n from products`.execute(conn.db);
  if (products.rows[0].n > 0) return;
  log.info("first run: loading the demo shop");
  const seeded = await seedDemo(conn.db);
  if (!seeded.skipped) {
    log.info({ skus: seeded.skus, products: seeded.products, ms: seeded.ms }, "demo data loaded");
  }
}

export interface Served {
  port: number;
  stop(): Promise<void>;
}

/** HTTP API and background jobs on `conn`, listening on the configured port. */
export async function serve(
  conn: Connection,
  config: KeelConfig,
  stream: pino.DestinationStream,
  hooks: { worker?: number } = {},
): Promise<Served> {
  const base = hooks.worker === undefined ? {} : { base: { pid: process.pid, worker: hooks.worker } };
  const replica = config.readDatabaseUrl ? createDb(config.readDatabaseUrl, config.poolSize) : undefined;
  const app = await buildApp({
    db: conn.db,
    logger: { level: config.logLevel, stream, ...base } as unknown as { level: string },
    nats: config.natsUrl ? { url: config.natsUrl } : undefined,
    limits: config.http,
    replica: replica ? { db: replica, maxLagMs: config.readMaxLagMs } : undefined,
  });
  if (hooks.worker !== undefined) {
    const id = String(hooks.worker);
    // which worker answered: for people (and tests) looking at a cluster from outside
    app.addHook("onSend", async (_req, reply, payload) => {
      reply.header("keel-worker", id);
      return payload;
    });
  }
  const jobs = startBackgroundJobs(conn.db, app.log);
  const stop = async () => {
    await app.close(); // stops accepting connections and waits for requests in flight
    await jobs.stop();
    await replica?.destroy();
  };
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await stop().catch(() => {});
    const code = (err as { code?: string }).code;
    throw new CliError(
      code === "EADDRINUSE"
        ? `port ${config.port} on ${config.host} is already in use: stop what runs there or set PORT`
        : `cannot listen on ${config.host}:${config.port}: ${describe(err)}`,
    );
  }
  const address = app.server.address();
  return { port: typeof address === "object" && address ? address.port : config.port, stop };
}

/** A fresh API key, the first admin when there are no users, and the banner on stdout. */
export async function printReady(
  conn: Connection,
  config: KeelConfig,
  port: number,
  started: number,
  note: string,
): Promise<void> {
  const { key } = await createApiKey(conn.db, "keel start");
  const admin = await ensureFirstAdmin(conn.db);
  const host = ["0.0.0.0", "::", ""].includes(config.host) ? "127.0.0.1" : config.host;
  const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const data = conn.embedded
    ? `${shortPath(conn.embedded.dataDir)} (${conn.where})`
    : `${conn.where} (DATABASE_URL)`;
  process.stdout.write(
    [
      `Keel is ready at ${base} (${Math.round(performance.now() - started)} ms)${note}`,
      `  API docs:  ${base}/docs   OpenAPI document: ${base}/openapi.json`,
      `  Data:      ${data}`,
      `API key: ${key}`,
      ...(admin
        ? [
            `Admin sign-in: ${admin.email} / ${admin.password}`,
            "  (shown once; a lost password: keel user reset-password --email <email>)",
          ]
        : []),
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
}

/** A path relative to the working directory when it lies below it, else absolute. */
function shortPath(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative === ""
    ? "."
    : relative.startsWith("..") || path.isAbsolute(relative)
      ? dir
      : `./${relative}`;
}
