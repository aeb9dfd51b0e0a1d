import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../src/db/migrate.js";
import { createDb, type DB } from "../src/db/pool.js";
import { type App, buildApp } from "../src/http/app.js";
import { createApiKey } from "../src/http/auth.js";

/**
 * KEEL_READ_DATABASE_URL against a real streaming replica: a PostgreSQL 15
 * primary started here (not the machine's shared server), a replica made from
 * it with pg_basebackup, and Keel reading its reports from the replica while
 * it keeps up, and from the primary while it lags or is gone.
 */
const BIN = "/usr/lib/postgresql/15/bin";
const run = promisify(execFile);
/** As root, PostgreSQL's programs run as the postgres user (initdb refuses root). */
const pg = (cmd: string, args: string[]) =>
  process.getuid?.() === 0
    ? run("runuser", ["-u", "postgres", "--", path.join(BIN, cmd), ...args])
    : run(path.join(BIN, cmd), args);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

let dir: string;
let primaryPort: number;
let replicaPort: number;
let primary: DB;
let replica: DB;
let app: App;
let auth: { authorization: string };
/** A second key that only reads. */
let reader: { authorization: string };
const logs: Array<{ msg: string; reason?: string }> = [];
const LOCATION = "RR1";
const SKU = "REPLICA-PROBE";

const start = (data: string, port: number) =>
  pg("pg_ctl", [
    "-D",
    data,
    "-l",
    `${data}.log`,
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40`,
    "start",
  ]);

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-replica-"));
  await fs.chmod(dir, 0o777);
  [primaryPort, replicaPort] = [await freePort(), await freePort()];
  await pg("initdb", ["-D", `${dir}/primary`, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  await start(`${dir}/primary`, primaryPort);
  const url = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  await migrate(url);
  await pg("pg_basebackup", [
    ...["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "postgres"],
    ...["-D", `${dir}/replica`, "-R", "-X", "stream", "-c", "fast", "-N"],
  ]);
  await start(`${dir}/replica`, replicaPort);
  primary = createDb(url, 6);
  replica = createDb(`postgres://postgres@127.0.0.1:${replicaPort}/postgres`, 4);
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  app = await buildApp({
    db: primary,
    replica: { db: replica, maxLagMs: 400, checkEveryMs: 100 },
    logger: { level: "info", stream } as unknown as { level: string },
    webDist: false,
  });
  await app.ready();
  auth = { authorization: `Bearer ${(await createApiKey(primary, "replica test")).key}` };
  reader = { authorization: `Bearer ${(await createApiKey(primary, "replica reader")).key}` };
}, 120_000);

afterAll(async () => {
  await app?.close();
  await primary?.destroy();
  await replica?.destroy();
  for (const node of ["replica", "primary"]) {
    await pg("pg_ctl", ["-D", `${dir}/${node}`, "-m", "immediate", "stop"]).catch(() => {});
  }
  await fs.rm(dir, { recursive: true, force: true });
});

const post = async (url: string, payload: object) => {
  const res = await app.inject({ method: "POST", url, headers: auth, payload });
  if (res.statusCode >= 300) throw new Error(`${url} -> ${res.statusCode} ${res.body}`);
  return res.json();
};
/** The location's units on hand as the stock-valuation report gives them (a replica read). */
const reported = async (): Promise<number> => {
  const res = await app.inject({
    method: "GET",
    url: `/v1/reports/stock-valuation?location=${LOCATION}`,
    headers: auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json().data[0]?.units_on_hand ?? 0;
};
/** The units on hand in the levels export (a replica read as well). */
const exported = async (): Promise<number> => {
  const res = await app.inject({
    method: "GET",
    url: `/v1/exports/levels.csv?location=${LOCATION}`,
    headers: auth,
  });
  expect(res.statusCode).toBe(200);
  const [header, ...rows] = res.body.trim().split("\n");
  const row = rows.find((r) => r.startsWith(`${SKU},`)) ?? "";
  return Number(row.split(",")[header.split(",").indexOf("on_hand")]);
};
/** How many movements the ledger list shows for the probe SKU. */
const movementsListed = async (who: { authorization: string }): Promise<number> => {
  const res = await app.inject({ method: "GET", url: `/v1/inventory/movements?sku=${SKU}`, headers: who });
  expect(res.statusCode).toBe(200);
  return res.json().data.length;
};
/** The same units read as a write's follow-up read is: from the primary. */
const onPrimary = async (): Promise<number> => {
  const res = await app.inject({ method: "GET", url: `/v1/inventory/levels?sku=${SKU}`, headers: auth });
  return res.json().data[0].on_hand;
};
const setOnHand = (n: number) =>
  post("/v1/inventory/adjustments", { sku: SKU, location: LOCATION, set: n, reason: "correction" });
async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const said = (text: string) => logs.filter((l) => l.msg.includes(text));

describe("reports on a streaming replica", () => {
  it("reads reports from the replica while it keeps up, from the primary while it lags or is gone", async () => {
    const standby = await sql<{ r: boolean }>`select pg_is_in_recovery() as r`.execute(replica);
    expect(standby.rows[0].r).toBe(true); // a real replica, made by pg_basebackup

    await post("/v1/locations", {
      code: LOCATION,
      name: LOCATION,
      kind: "warehouse",
      priority: 1,
      country: "DE",
    });
    await post("/v1/products", {
      title: "Replica probe",
      kind: "physical",
      status: "active",
      variants: [{ sku: SKU, price: 100, currency: "EUR" }],
    });
    await setOnHand(7);
    await until("the replica to replay the stock", async () => (await reported()) === 7);
    expect(said("read replica in use").length).toBeGreaterThanOrEqual(1);

    // replay paused: the report is the replica's (still 7); the write and its own read are the primary's
    await sql`select pg_wal_replay_pause()`.execute(replica);
    await setOnHand(9);
    expect(await onPrimary()).toBe(9);
    expect(await reported()).toBe(7);
    expect(await exported()).toBe(7); // exports too
    // a list: from the replica for a reader that has not written, from the primary for the one that just did
    expect(await movementsListed(reader)).toBe(1);
    expect(await movementsListed(auth)).toBe(2);

    // past the allowed lag: skipped with a logged reason, and the report comes from the primary
    await until("the replica to be skipped", () => said("read replica skipped").length > 0);
    expect(said("read replica skipped")[0].reason).toMatch(
      /ms behind the primary, more than the 400 ms allowed/,
    );
    expect(await reported()).toBe(9);
    expect(await exported()).toBe(9);

    // replay resumed: back to the replica once it has caught up
    await sql`select pg_wal_replay_resume()`.execute(replica);
    await until("the replica to be used again", () => said("read replica in use").length >= 2);
    expect(await reported()).toBe(9);

    // the replica stopped: skipped as unreachable, reports still answer
    await pg("pg_ctl", ["-D", `${dir}/replica`, "-m", "fast", "stop"]);
    await until("the stopped replica to be skipped", () =>
      said("read replica skipped").some((l) => /unreachable/.test(l.reason ?? "")),
    );
    await setOnHand(11);
    expect(await reported()).toBe(11);
  });
});
