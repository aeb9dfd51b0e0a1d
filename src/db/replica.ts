import { sql } from "kysely";
import type { DB } from "./pool.js";

export interface ReplicaOptions {
  /** A replica further behind than this is skipped (reads go to the primary). */
  maxLagMs: number;
  /** How often the lag is measured. */
  checkEveryMs: number;
  /** Told once per change of state, with the reason the replica is skipped (or undefined when used again). */
  onChange?: (usable: boolean, reason: string | undefined, lagMs: number | undefined) => void;
}

/** `X/Y` (hex) as one number, for comparing WAL positions. */
const lsn = (text: string): bigint => {
  const [hi, lo] = text.split("/");
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

/**
 * Where reads that may be a little behind go: a streaming replica
 * (KEEL_READ_DATABASE_URL) while it keeps up, else the primary. Writes, and
 * reads that must see their own write, never ask this: they use the primary.
 *
 * Lag is measured against the primary, not from the replica's own clock:
 * every check notes the primary's current WAL position and when it was
 * seen, and the replica's lag is the age of the oldest position it has not
 * replayed yet. An idle primary gives 0; a replica cut off from its primary
 * (which would still call itself caught up) grows older with every check.
 */
export class ReadReplica {
  private pending: Array<{ lsn: bigint; at: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  usable = false;
  reason: string | undefined = "not checked yet";
  lagMs: number | undefined;

  constructor(
    private primary: DB,
    private replica: DB | undefined,
    private opts: ReplicaOptions,
  ) {}

  /** When each reader (an actor) last had a write answered by this process. */
  private writers = new Map<string, number>();

  /**
   * The database for a read that may lag by up to `maxLagMs` — the primary
   * for a `reader` whose own write this process answered within that time,
   * so a client listing what it has just written sees it.
   */
  db(reader?: string): DB {
    if (!this.replica || !this.usable) return this.primary;
    if (reader !== undefined) {
      const at = this.writers.get(reader);
      if (at !== undefined && Date.now() - at <= Math.max(this.opts.maxLagMs, this.lagMs ?? 0))
        return this.primary;
    }
    return this.replica;
  }

  /** `reader` had a write answered: its reads stay on the primary for the allowed lag. */
  wrote(reader: string): void {
    if (!this.replica) return;
    const now = Date.now();
    this.writers.set(reader, now);
    if (this.writers.size > 10_000) {
      for (const [r, at] of this.writers) if (now - at > this.opts.maxLagMs) this.writers.delete(r);
    }
  }

  /** Starts measuring; reads go to the primary until the first measurement says the replica keeps up. */
  async start(): Promise<void> {
    if (!this.replica) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.opts.checkEveryMs);
    this.timer.unref();
  }

  /** One measurement; calls coalesce. A replica that does not answer within 2 s (or 3 checks) is skipped. */
  check(): Promise<void> {
    const limitMs = Math.max(2_000, 3 * this.opts.checkEveryMs);
    this.checking ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.set(false, `unreachable: no answer within ${limitMs} ms`, undefined);
        resolve();
      }, limitMs);
      this.measure().finally(() => {
        clearTimeout(timer);
        resolve();
      });
    }).finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async measure(): Promise<void> {
    const replica = this.replica;
    if (!replica) return;
    try {
      const head = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(this.primary);
      this.pending.push({ lsn: lsn(head.rows[0].lsn), at: Date.now() });
      if (this.pending.length > 10_000) this.pending.splice(1, this.pending.length - 5_000); // keep the oldest
      const r = await sql<{ standby: boolean; replayed: string | null }>`
        select pg_is_in_recovery() as standby, pg_last_wal_replay_lsn()::text as replayed`.execute(replica);
      const { standby, replayed } = r.rows[0];
      if (!standby || replayed === null) {
        this.pending = [];
        return this.set(
          false,
          "not a streaming replica (not in recovery): promoted, or the wrong URL",
          undefined,
        );
      }
      const at = lsn(replayed);
      this.pending = this.pending.filter((p) => p.lsn > at);
      const lag = this.pending.length ? Date.now() - this.pending[0].at : 0;
      if (lag > this.opts.maxLagMs) {
        return this.set(
          false,
          `${lag} ms behind the primary, more than the ${this.opts.maxLagMs} ms allowed`,
          lag,
        );
      }
      this.set(true, undefined, lag);
    } catch (err) {
      this.set(false, `unreachable: ${(err as Error).message}`, undefined);
    }
  }

  private set(usable: boolean, reason: string | undefined, lagMs: number | undefined): void {
    this.lagMs = lagMs;
    const changed = usable !== this.usable || kindOf(reason) !== kindOf(this.reason);
    this.usable = usable;
    this.reason = reason;
    if (changed) this.opts.onChange?.(usable, reason, lagMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }
}

/** The kind of reason, so a lag that grows by the millisecond is logged once, not every check. */
const kindOf = (reason: string | undefined) =>
  reason === undefined ? "ok" : reason.includes("behind") ? "behind" : reason.split(":")[0];
