import cluster, { type Worker } from "node:cluster";
import { readConfig } from "../config.js";
import { CliError, connect } from "./database.js";
import {
  loadDemoOnFirstRun,
  prepareSecrets,
  printReady,
  type Served,
  serve,
  startLog,
  stopOnSignal,
} from "./start.js";

/** What a worker tells the primary, and the primary a worker, over the cluster's IPC channel. */
type Message = { keel: "ready"; port: number } | { keel: "shutdown" };
const isMessage = (m: unknown): m is Message => typeof m === "object" && m !== null && "keel" in m;

/** Workers that said they are serving: they listen for the shutdown message (a starting one may not yet). */
const serving = new WeakSet<Worker>();

/** How long a dead worker's slot waits before it is started again (a crash loop must not spin). */
const RESTART_DELAY_MS = 1_000;

/**
 * `keel start --workers N`: this process prepares the database (embedded
 * server or DATABASE_URL, migrations, demo data on first run), then forks N
 * workers with node:cluster. Each worker is a whole Keel — pool, HTTP server,
 * background jobs — listening on the one port the primary shares out
 * (round-robin). A worker that dies is started again; SIGINT/SIGTERM drains
 * every worker, then the primary closes the database and exits 0.
 */
export async function startCluster(workers: number): Promise<void> {
  const config = readConfig();
  const { log } = startLog(config);
  const started = performance.now();
  const conn = await connect(config, {
    poolSize: 2,
    migrate: true,
    log: (line) => log.debug({ postgres: line.trimEnd() }, "postgres"),
  });
  if (conn.applied.length > 0) log.info({ applied: conn.applied }, "migrations applied");
  await prepareSecrets(conn, config, log);

  let stopping = false;
  const live = new Set<Worker>();
  stopOnSignal(log, async () => {
    stopping = true;
    await Promise.all([...live].map(stopWorker));
    await conn.close();
  });

  const fork = (slot: number): Worker => {
    const worker = cluster.fork({ DATABASE_URL: conn.url, KEEL_WORKER: String(slot) });
    live.add(worker);
    worker.on("message", (m: unknown) => {
      if (isMessage(m) && m.keel === "ready") serving.add(worker);
    });
    worker.on("exit", (code, signal) => {
      live.delete(worker);
      if (stopping || !ready) return;
      log.error({ worker: slot, code, signal }, "worker exited: starting another");
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, RESTART_DELAY_MS);
    });
    return worker;
  };

  let ready = false;
  try {
    await loadDemoOnFirstRun(conn, log);
    const ports = await Promise.all(Array.from({ length: workers }, (_, i) => readyPort(fork(i + 1))));
    ready = true;
    log.info({ workers, pids: [...live].map((w) => w.process.pid) }, "workers ready");
    await printReady(conn, config, ports[0], started, ` with ${workers} workers`);
  } catch (err) {
    stopping = true;
    await Promise.all([...live].map(stopWorker));
    await conn.close().catch(() => {});
    throw err;
  }
  await new Promise<never>(() => {}); // the workers' IPC channels keep this process up until a signal
}

/** Resolves with the port the worker listens on, or rejects when it exits first. */
function readyPort(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(
        new CliError(`a worker exited while starting (code ${code}, signal ${signal}): see its log above`),
      );
    worker.once("exit", onExit);
    worker.on("message", (m: unknown) => {
      if (isMessage(m) && m.keel === "ready") {
        worker.off("exit", onExit);
        resolve(m.port);
      }
    });
  });
}

/** Asks a worker to drain and waits for it to exit. */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.isDead()) return resolve();
    worker.once("exit", () => resolve());
    if (!serving.has(worker)) {
      worker.process.kill("SIGTERM"); // still starting: nothing to drain, and it may not hear a message yet
      return;
    }
    try {
      worker.send({ keel: "shutdown" } satisfies Message);
    } catch {
      worker.process.kill("SIGTERM"); // its channel is gone: a signal says the same
    }
  });
}

/** One cluster worker: the API and jobs on the database the primary prepared, no banner of its own. */
export async function serveWorker(): Promise<void> {
  const config = readConfig();
  const slot = Number(process.env.KEEL_WORKER ?? cluster.worker?.id ?? 0);
  const { log: base, stream } = startLog(config);
  const log = base.child({ worker: slot });
  const conn = await connect(config, { poolSize: config.poolSize, migrate: false });
  await prepareSecrets(conn, config, log, { seal: false });
  let server: Served | undefined;
  const shutdown = stopOnSignal(log, async () => {
    await server?.stop();
    await conn.close();
  });
  process.on("message", (m: unknown) => {
    if (isMessage(m) && m.keel === "shutdown") shutdown("SIGTERM");
  });
  try {
    server = await serve(conn, config, stream, { worker: slot });
  } catch (err) {
    await conn.close().catch(() => {});
    throw err;
  }
  process.send?.({ keel: "ready", port: server.port } satisfies Message);
  await new Promise<never>(() => {});
}
