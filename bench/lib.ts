import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { sql } from "kysely";
import pg from "pg";
import { type EmbeddedServer, ensureDatabase, freePort, startEmbedded } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { createDb, type DB } from "../src/db/pool.js";
import { createApiKey } from "../src/http/auth.js";

/**
 * What an interrupted run must undo, newest first: the Keel child before the
 * database it uses, the database before its directory. Without it Ctrl-C left
 * the API process orphaned (still polling), an embedded server running and
 * its temporary directory behind. Signals that arrive while it runs (tsx
 * passes its own on, so each one comes twice) change nothing.
 */
const undo: (() => Promise<void>)[] = [];
let interrupted = false;
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping Keel and the database…\n`);
    (async () => {
      for (const f of undo.reverse()) await f().catch(() => {});
    })().finally(() => process.exit(code));
  });
}

/** Registers `f` to run if the run is interrupted; returns `f` wrapped to unregister itself and run once. */
function undoable(f: () => Promise<void>): () => Promise<void> {
  undo.push(f);
  return async () => {
    const at = undo.indexOf(f);
    if (at < 0) return;
    undo.splice(at, 1);
    await f();
  };
}

export interface BenchEnv {
  url: string;
  db: DB;
  key: string;
  close(): Promise<void>;
}

/** A fresh, migrated database: on DATABASE_URL's server when given, else an embedded server (fsync on). */
export async function freshDatabase(): Promise<BenchEnv> {
  let server: EmbeddedServer | undefined;
  let dir: string | undefined;
  let dropServer = async () => {};
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-bench-"));
    await fs.chmod(dir, 0o755);
    // BENCH_PG_SETTINGS="name=value,…": extra server settings, e.g. shared_preload_libraries=pg_stat_statements
    const extra = Object.fromEntries(
      (process.env.BENCH_PG_SETTINGS ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    server = await startEmbedded({
      dataDir: dir,
      database: "postgres",
      settings: { max_connections: 400, ...extra },
    });
    adminUrl = server.adminUrl;
    const started = server;
    const tmp = dir;
    dropServer = undoable(async () => {
      await started.stop();
      await fs.rm(tmp, { recursive: true, force: true });
    });
    postmasterPid = Number(
      (await fs.readFile(path.join(dir, "pg", "postmaster.pid"), "utf8")).split("\n")[0],
    );
  }
  const name = `keel_bench_${randomBytes(4).toString("hex")}`;
  await ensureDatabase(adminUrl, name);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrate(url);
  const db = createDb(url, 70);
  const { key } = await createApiKey(db, "bench");
  return {
    url,
    db,
    key,
    close: undoable(async () => {
      await db.destroy();
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
      await dropServer();
    }),
  };
}

export interface KeelServer {
  base: string;
  stop(): Promise<void>;
}

/** Starts the API in a child process, so the load generator does not share its event loop. */
export async function startKeel(url: string, env: Record<string, string> = {}): Promise<KeelServer> {
  const port = await freePort();
  // BENCH_PROF=<dir>: each API process writes a V8 CPU profile there when it stops (open it in Chrome DevTools)
  const prof = process.env.BENCH_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_PROF] : [];
  // the young-generation size `npm start` runs Keel with (package.json, README)
  const node = [...prof, "--max-semi-space-size=64", "--import", "tsx", "bench/server.ts"];
  const child: ChildProcess = spawn(process.execPath, node, {
    env: {
      ...process.env,
      DATABASE_URL: url,
      PORT: String(port),
      KEEL_POOL_SIZE: process.env.KEEL_POOL_SIZE ?? "32",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  keelPid = child.pid;
  const stop = undoable(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  statuses: Record<string, number>;
  errors: number;
  /** CPU milliseconds per answered request: the Keel processes, PostgreSQL, and the load generator. */
  cpuMs: { keel: number; postgres: number; generator: number };
}

/**
 * Requests prebuilt for autocannon, per connection: it sends static requests
 * from ready buffers, which keeps the load generator's own CPU per request
 * low on a machine whose cores Keel and PostgreSQL share. Each connection
 * gets its own random requests (autocannon walks every connection through
 * the same list from the start, which would have them all ask for the same
 * SKUs at once).
 */
const REQUESTS_PER_CONNECTION = 128;

export async function load(opts: {
  url: string;
  method?: "GET" | "POST";
  connections: number;
  duration?: number;
  amount?: number;
  /** Requests per second over all connections (autocannon's overallRate); as fast as possible when left out. */
  rate?: number;
  headers?: Record<string, string>;
  body?: () => string;
  path?: () => string;
}): Promise<LoadResult> {
  const basePath = new URL(opts.url).pathname;
  const request = () => ({
    method: opts.method ?? "GET",
    path: opts.path ? opts.path() : basePath,
    ...(opts.body ? { body: opts.body() } : {}),
  });
  const varies = Boolean(opts.body || opts.path);
  const before = cpuByGroup();
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? "GET",
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration ?? 10 }),
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    headers: { "content-type": "application/json", ...opts.headers },
    timeout: 30,
    requests: [request()],
    ...(varies
      ? {
          setupClient: (client: autocannon.Client) =>
            client.setRequests(Array.from({ length: REQUESTS_PER_CONNECTION }, request)),
        }
      : {}),
  });
  const after = cpuByGroup();
  const statuses: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = Number((v as { count: number }).count);
  }
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  const per = (k: keyof typeof before) => (after[k] - before[k]) / Math.max(total, 1);
  return {
    rps: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    statuses,
    errors: result.errors + result.timeouts,
    cpuMs: { keel: per("keel"), postgres: per("postgres"), generator: per("generator") },
  };
}

/** The bench server's pid (its cluster workers are its children). */
let keelPid: number | undefined;
/** The embedded server's postmaster (its backends are its children); unknown with DATABASE_URL. */
let postmasterPid: number | undefined;
const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * CPU time used so far, in ms, by the Keel processes, PostgreSQL (the embedded
 * server's processes; with DATABASE_URL every process named postgres), and
 * this process, from Linux's /proc.
 */
export function cpuByGroup(): { keel: number; postgres: number; generator: number } {
  const sums = { keel: 0, postgres: 0, generator: 0 };
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return sums; // not Linux: no per-process accounting
  }
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(fields[1]);
    const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    if (Number(pid) === process.pid) sums.generator += ms;
    else if (keelPid && (Number(pid) === keelPid || ppid === keelPid)) sums.keel += ms;
    else if (postmasterPid ? Number(pid) === postmasterPid || ppid === postmasterPid : comm === "postgres") {
      sums.postgres += ms;
    }
  }
  return sums;
}

/** Bulk catalogue and stock for benchmarks, written straight to the tables with a matching ledger. */
export async function loadStock(
  db: DB,
  opts: { skus: number; locations: string[]; onHand: number; prefix?: string; bundles?: number },
): Promise<void> {
  const prefix = opts.prefix ?? "B";
  await db.transaction().execute(async (tx) => {
    for (const [i, code] of opts.locations.entries()) {
      await sql`insert into locations (code, name, kind, priority, country)
                values (${code}, ${code}, 'warehouse', ${i + 1}, 'DE') on conflict (code) do nothing`.execute(
        tx,
      );
    }
    await sql`
      with p as (
        insert into products (title, handle, kind, status)
        select 'Bench ' || g, lower(${prefix}) || '-' || g, 'physical', 'active' from generate_series(1, ${opts.skus}) g
        returning id, handle)
      insert into variants (product_id, kind, sku, price, currency)
      select p.id, 'physical', ${prefix} || '-' || split_part(p.handle, '-', 2), 1000, 'EUR' from p`.execute(
      tx,
    );
    await sql`
      insert into inventory_levels (variant_id, location_id, on_hand)
      select v.id, l.id, ${opts.onHand} from variants v cross join locations l
      where v.sku like ${`${prefix}-%`} and l.code = any(${opts.locations}::text[])`.execute(tx);
    await sql`
      insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
      select il.variant_id, il.location_id, 'on_hand', il.on_hand, 'initial', 'bench', 'bench'
      from inventory_levels il join variants v on v.id = il.variant_id
      where v.sku like ${`${prefix}-%`}`.execute(tx);
  });
  // Only the tables filled here: ANALYZE on a still-empty table (reservations, orders, order_lines…) records
  // it as empty, and the foreign-key checks' cached plans then seq-scan it for the rest of the run as it grows
  // (a reservation's check of its reservations row took 0.6 ms instead of microseconds at 30,000 rows).
  await sql`analyze locations, products, variants, inventory_levels, inventory_movements`.execute(db);
}

export function table(title: string, rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const fmt = (v: string | number) =>
    typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  const lines = [
    `### ${title}`,
    "",
    `| ${cols.join(" | ")} |`,
    `| ${cols.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(" | ")} |`),
    "",
  ];
  return lines.join("\n");
}

/** Each path's median and worst time over 5 requests after one untimed warm-up request, as table rows. */
export async function timeEndpoints(
  base: string,
  headers: Record<string, string>,
  paths: string[],
): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  for (const path of paths) {
    const times: number[] = [];
    let status = 0;
    for (let i = 0; i < 6; i++) {
      const t = performance.now();
      const res = await fetch(`${base}${path}`, { headers });
      await res.arrayBuffer();
      status = res.status;
      if (i > 0) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    rows.push({ endpoint: `GET ${path}`, status, "median ms": times[2], "max ms": times[times.length - 1] });
  }
  return rows;
}
