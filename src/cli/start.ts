import path from "node:path";
import { sql } from "kysely";
import pino from "pino";
import { readConfig } from "../config.js";
import { buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { LOG_REDACT } from "../http/hardening.js";
import { startBackgroundJobs } from "../jobs.js";
import { loadSecretKey, SecretKeyError, setSecretKey } from "../secrets/box.js";
import { sealStoredSecrets } from "../secrets/rewrite.js";
import { CliError, connect, describe } from "./database.js";
import { seedDemo } from "./seed/index.js";
import { expectConnectionLoss, onShutdownSignal } from "./signals.js";
import { ensureFirstAdmin } from "./user.js";

/** Longest a shutdown may take before Keel gives up waiting and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

/**
 * `keel start`: database (embedded unless DATABASE_URL), migrations, demo
 * data on the embedded database's first run, HTTP API and background jobs.
 * Logs (pino, JSON) go to stderr; the address and the API key to stdout,
 * and on a database without users the first admin's sign-in (created here).
 * SIGINT/SIGTERM: stop taking requests and drain them, stop the jobs, close
 * the pool, stop the embedded server if this process started it, exit 0.
 */
export async function startCommand(): Promise<void> {
  const config = readConfig();
  const logStream = pino.destination({ dest: 2, sync: true });
  const log = pino({ level: config.logLevel, base: { name: "keel" }, redact: LOG_REDACT }, logStream);
  const started = performance.now();

  const conn = await connect(config, {
    poolSize: config.poolSize,
    migrate: true,
    log: (line) => log.debug({ postgres: line.trimEnd() }, "postgres"),
  });
  if (conn.applied.length > 0) log.info({ applied: conn.applied }, "migrations applied");

  // secrets at rest: this process's key, and any secret from before encryption encrypted now
  try {
    const key = loadSecretKey({ secret: config.secret, dataDir: config.dataDir });
    setSecretKey(key);
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

  let shuttingDown = false;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let jobs: ReturnType<typeof startBackgroundJobs> | undefined;
  onShutdownSignal((signal) => {
    if (shuttingDown) {
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
    (async () => {
      await app?.close(); // stops accepting connections and waits for requests in flight
      await jobs?.stop();
      await conn.close();
      log.info({ ms: Math.round(performance.now() - stopping) }, "stopped");
      process.exit(0);
    })().catch((err) => {
      log.error({ err }, "shutdown failed");
      process.exit(1);
    });
  });

  try {
    if (conn.embedded) {
      const products = await sql<{ n: number }>`select count(*)::int as n from products`.execute(conn.db);
      if (products.rows[0].n === 0) {
        log.info("first run: loading the demo shop");
        const seeded = await seedDemo(conn.db);
        if (!seeded.skipped) {
          log.info({ skus: seeded.skus, products: seeded.products, ms: seeded.ms }, "demo data loaded");
        }
      }
    }

    app = await buildApp({
      db: conn.db,
      logger: { level: config.logLevel, stream: logStream },
      nats: config.natsUrl ? { url: config.natsUrl } : undefined,
      limits: config.http,
    });
    jobs = startBackgroundJobs(conn.db, app.log);
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new CliError(
        code === "EADDRINUSE"
          ? `port ${config.port} on ${config.host} is already in use: stop what runs there or set PORT`
          : `cannot listen on ${config.host}:${config.port}: ${describe(err)}`,
      );
    }
    const { key } = await createApiKey(conn.db, "keel start");
    const admin = await ensureFirstAdmin(conn.db);

    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = ["0.0.0.0", "::", ""].includes(config.host) ? "127.0.0.1" : config.host;
    const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const data = conn.embedded
      ? `${shortPath(conn.embedded.dataDir)} (${conn.where})`
      : `${conn.where} (DATABASE_URL)`;
    process.stdout.write(
      [
        `Keel is ready at ${base} (${Math.round(performance.now() - started)} ms)`,
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
  } catch (err) {
    // failed before we were serving: undo what was started, then report
    await app?.close().catch(() => {});
    await jobs?.stop().catch(() => {});
    await conn.close().catch(() => {});
    throw err;
  }
  await new Promise<never>(() => {}); // runs until a signal ends the process
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
