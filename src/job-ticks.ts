import os from "node:os";
import { sql } from "kysely";
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
 * Runs `work` once per interval across processes: claims the tick, then holds
 * a session advisory lock on a connection of its own for the run, so a run
 * that outlasts its interval is not started again beside itself; a killed
 * process's lock goes with its connection, and its tick with the interval.
 * Returns undefined when another process has this tick or is still running.
 */
export async function runOncePerTick<T>(
  db: DB,
  name: string,
  everyMs: number,
  work: () => Promise<T>,
  by = runnerName,
): Promise<T | undefined> {
  if (!(await claimTick(db, name, everyMs, by))) return undefined;
  return db.connection().execute(async (conn) => {
    const got = await sql<{ ok: boolean }>`
      select pg_try_advisory_lock(hashtext('keel job'), hashtext(${name})) as ok`.execute(conn);
    if (!got.rows[0].ok) return undefined;
    try {
      return await work();
    } finally {
      await sql`update job_ticks set finished_at = now() where name = ${name}`.execute(db).catch(() => {});
      await sql`select pg_advisory_unlock(hashtext('keel job'), hashtext(${name}))`.execute(conn);
    }
  });
}
