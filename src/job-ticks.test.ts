import { sql } from "kysely";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../test/helpers.js";
import { createDb, type DB } from "./db/pool.js";
import { claimTick } from "./job-ticks.js";
import { type Job, startBackgroundJobs } from "./jobs.js";

// Two job runners on one database, as two Keel processes would be: each with its own pool.
let a: DB;
let b: DB;
let url: string;
let drop: () => Promise<void>;
const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const database = await testDatabase();
  url = database.url;
  drop = database.drop;
  a = createDb(url, 4);
  b = createDb(url, 4);
});

afterAll(async () => {
  await a.destroy();
  await b.destroy();
  await drop();
});

describe("jobs that run once per interval across processes", () => {
  it("gives each tick to exactly one of two processes claiming at once", async () => {
    for (let i = 0; i < 20; i++) {
      const name = `claim race ${i}`;
      const won = await Promise.all([claimTick(a, name, 60_000, "a"), claimTick(b, name, 60_000, "b")]);
      expect(won.filter(Boolean)).toHaveLength(1);
      // the same interval again: nobody
      expect(await claimTick(a, name, 60_000, "a")).toBe(false);
      expect(await claimTick(b, name, 60_000, "b")).toBe(false);
    }
    // the next interval: claimable again
    expect(await claimTick(a, "short tick", 200)).toBe(true);
    expect(await claimTick(b, "short tick", 200)).toBe(false);
    await sleep(250);
    expect(await claimTick(b, "short tick", 200)).toBe(true);
  });

  it("runs a once-job about once per interval in two runners, never beside itself, while a leases job runs in both", async () => {
    let runs = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const leased = { a: 0, b: 0 };
    const onceJob: Job = {
      name: "count once",
      everyMs: 100,
      shared: "once",
      async run() {
        runs++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(250); // outlasts its interval: the next tick must not start beside it
        inFlight--;
        return 0;
      },
    };
    const leaseJob = (who: "a" | "b"): Job => ({
      name: "count leases",
      everyMs: 100,
      shared: "leases",
      async run() {
        leased[who]++;
        return 0;
      },
    });
    const ra = startBackgroundJobs(a, log, 1, [onceJob, leaseJob("a")]);
    const rb = startBackgroundJobs(b, log, 1, [onceJob, leaseJob("b")]);
    await sleep(2_000);
    await ra.stop();
    await rb.stop();
    expect(maxInFlight).toBe(1);
    // 2 s of 100 ms ticks in two processes: 40 timer firings; a run takes 250 ms, so at most ~8 fit
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(9);
    expect(leased.a).toBeGreaterThanOrEqual(10);
    expect(leased.b).toBeGreaterThanOrEqual(10);
    const row = await sql<{
      runs: number;
    }>`select runs::int from job_ticks where name = 'count once'`.execute(a);
    expect(row.rows[0].runs).toBeGreaterThanOrEqual(runs);
  });

  it("takes over from a process killed mid-run as soon as its connection is gone", async () => {
    // a process in the middle of the run: holds the job's advisory lock on its own connection
    const killed = new pg.Client({ connectionString: url });
    await killed.connect();
    killed.on("error", () => {});
    await killed.query("select pg_advisory_lock(hashtext('keel job'), hashtext('takeover'))");
    const pid = (await killed.query("select pg_backend_pid() as pid")).rows[0].pid as number;
    let runs = 0;
    const job: Job = {
      name: "takeover",
      everyMs: 100,
      shared: "once",
      async run() {
        runs++;
        return 0;
      },
    };
    const survivor = startBackgroundJobs(b, log, 1, [job]);
    await sleep(600);
    expect(runs).toBe(0); // ticks claimed, but the killed process's run still holds the lock
    const killedAt = Date.now();
    await sql`select pg_terminate_backend(${pid})`.execute(a); // what kill -9 leaves PostgreSQL with
    while (runs === 0 && Date.now() - killedAt < 5_000) await sleep(20);
    await survivor.stop();
    expect(runs).toBeGreaterThan(0);
    expect(Date.now() - killedAt).toBeLessThan(3_000); // a tick or so (100 ms here), with room for a loaded machine
    await killed.end().catch(() => {});
  });

  it("does not hold pool connections for its locks: jobs on a one-connection pool still run", async () => {
    const tiny = createDb(url, 1);
    const ran = new Set<string>();
    const jobs: Job[] = ["tiny a", "tiny b", "tiny c"].map((name) => ({
      name,
      everyMs: 100,
      shared: "once",
      async run(db) {
        await sql`select pg_sleep(0.05)`.execute(db); // the job's own query needs the pool's one connection
        ran.add(name);
        return 0;
      },
    }));
    const runner = startBackgroundJobs(tiny, log, 1, jobs);
    const end = Date.now() + 10_000;
    while (ran.size < 3 && Date.now() < end) await sleep(20);
    await runner.stop();
    await tiny.destroy();
    expect([...ran].sort()).toEqual(["tiny a", "tiny b", "tiny c"]);
  });
});
