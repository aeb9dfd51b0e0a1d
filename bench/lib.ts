import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
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
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-bench-"));
    await fs.chmod(dir, 0o755);
    server = await startEmbedded({ dataDir: dir, database: "postgres", settings: { max_connections: 400 } });
    adminUrl = server.adminUrl;
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
    async close() {
      await db.destroy();
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
      await server?.stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface KeelServer {
  base: string;
  stop(): Promise<void>;
}

/** Starts the API in a child process, so the load generator does not share its event loop. */
export async function startKeel(url: string, env: Record<string, string> = {}): Promise<KeelServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "bench/server.ts"], {
    env: { ...process.env, DATABASE_URL: url, PORT: String(port), KEEL_POOL_SIZE: "32", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  statuses: Record<string, number>;
  errors: number;
}

export async function load(opts: {
  url: string;
  method?: "GET" | "POST";
  connections: number;
  duration?: number;
  amount?: number;
  headers?: Record<string, string>;
  body?: () => string;
  path?: () => string;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? "GET",
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration ?? 10 }),
    headers: { "content-type": "application/json", ...opts.headers },
    timeout: 30,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          ...(opts.body ? { body: opts.body() } : {}),
          ...(opts.path ? { path: opts.path() } : {}),
        }),
      },
    ],
  });
  const statuses: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[code] = Number((v as { count: number }).count);
  }
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    statuses,
    errors: result.errors + result.timeouts,
  };
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
  await sql`analyze`.execute(db);
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
