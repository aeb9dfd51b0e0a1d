import os from "node:os";
import { sql } from "kysely";
import pg from "pg";
import type { DB } from "./db/pool.js";

/** Who claimed a tick, for people reading job_ticks. */
export const runnerName = `${os.hostname()}:${process.pid}`;

/**
 * Claims this interval's run of a job for this process: true for exactly one
 * of any number of processes whose timers fire within `0.8 × everyMs` of each
 * other (the upsert re-checks `started_at` on the row it locks, so two
 * claims at once cannot both win). The 0.8 lets timers that drift apart
 * still run the job about once per interval.
 */
export async function claimTick(db: DB, name: string, everyMs: number, by = runnerName): Promise<boolean> {
  const res = await sql<{ runs: number }>`
    insert into job_ticks as t (name, started_at, started_by, runs) values (${name}, now(), ${by}, 1)
    on conflict (name) do update set started_at = now(), started_by = excluded.started_by, runs = t.runs + 1
      where t.started_at <= now() - make_interval(secs => ${(everyMs * 0.8) / 1000}::float8)
    returning runs`.execute(db);
  return res.rows.length > 0;
}

/**
 * The advisory locks of one job runner, on a connection of their own (not
 * the pool's: a run holding a pooled connection while its own queries wait
 * for another could exhaust a small pool). One session holds the lock of
 * every job this process is running; when the process dies, PostgreSQL
 * drops them all with the connection. When that connection is lost, the
 * locks go with it and the next use opens a new one; the tick claim still
 * keeps the job to one run per interval meanwhile.
 */
export class JobLocks {
  private client: Promise<pg.Client> | undefined;
  /** Held by this process: a session's advisory locks stack, so a second run here must be refused here. */
  private held = new Set<string>();

  constructor(private url: string | undefined) {}

  private connection(): Promise<pg.Client> | undefined {
    if (!this.url) return undefined;
    this.client ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, application_name: "keel job locks" });
      client.on("error", () => {});
      client.on("end", () => {
        this.client = undefined;
      });
      await client.connect();
      return client;
    })().catch((err) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  /** True when this process now holds the job's lock (or there is no URL to lock with). */
  async tryLock(name: string): Promise<boolean> {
    if (this.held.has(name)) return false;
    this.held.add(name);
    let ok = false;
    try {
      const client = await this.connection();
      ok = client
        ? (
            await client.query("select pg_try_advisory_lock(hashtext('keel job'), hashtext($1)) as ok", [
              name,
            ])
          ).rows[0].ok === true
        : true;
      return ok;
    } finally {
      if (!ok) this.held.delete(name);
    }
  }

  async unlock(name: string): Promise<void> {
    if (!this.held.delete(name)) return;
    const client = await this.connection();
    await client?.query("select pg_advisory_unlock(hashtext('keel job'), hashtext($1))", [name]);
  }

  async close(): Promise<void> {
    const client = await this.client?.catch(() => undefined);
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

/**
 * Runs `work` once per interval across processes: claims the tick, then holds
 * the job's advisory lock for the run, so a run that outlasts its interval
 * is not started again beside itself; a killed process's lock goes with its
 * connection, and its tick with the interval. Returns undefined when another
 * process has this tick or is still running the job.
 */
export async function runOncePerTick<T>(
  db: DB,
  locks: JobLocks,
  name: string,
  everyMs: number,
  work: () => Promise<T>,
  by = runnerName,
): Promise<T | undefined> {
  if (!(await claimTick(db, name, everyMs, by))) return undefined;
  if (!(await locks.tryLock(name))) return undefined;
  try {
    return await work();
  } finally {
    await sql`update job_ticks set finished_at = now() where name = ${name}`.execute(db).catch(() => {});
    await locks.unlock(name).catch(() => {});
  }
}
