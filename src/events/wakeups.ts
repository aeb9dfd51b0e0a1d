import pg from "pg";
import { connectionStringOf, type DB } from "../db/pool.js";

/** At most one announcement per this many ms per process: a wake-up, not a message per write. */
const ANNOUNCE_EVERY_MS = 10;

/**
 * LISTEN/NOTIFY on `keel_outbox` as a wake-up for the outbox feed across
 * processes. The outbox stays the truth (the feed reads it in commit-safe
 * order and also polls on its interval); a NOTIFY only says "look now", so a
 * lost one costs at most one poll interval.
 *
 * The NOTIFY is not sent from inside the writing transaction: PostgreSQL
 * serialises the commits of every transaction that notifies (a database-wide
 * lock at commit), which would put one lock in front of every order. Instead
 * a process announces after its write has committed and been answered, from
 * this connection, at most once per ANNOUNCE_EVERY_MS, with asynchronous
 * commit (nothing durable is at stake).
 */
export class OutboxWakeups {
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastSent = 0;

  constructor(
    private db: DB,
    private onWake: () => void,
  ) {}

  async start(): Promise<void> {
    const url = connectionStringOf(this.db);
    if (!url) return; // no URL to listen with: the feed's interval alone
    await this.connect(url).catch(() => this.reconnectLater(url));
  }

  /** Another process (or this one) should look at the outbox now. */
  announce(): void {
    if (this.pending || !this.client) return;
    const wait = Math.max(0, this.lastSent + ANNOUNCE_EVERY_MS - Date.now());
    this.pending = setTimeout(() => {
      this.lastSent = Date.now();
      const client = this.client;
      const done = () => {
        this.pending = undefined;
      };
      if (!client) return done();
      client
        .query("begin; set local synchronous_commit to off; notify keel_outbox; commit")
        .catch(() => {})
        .finally(done);
    }, wait);
    this.pending.unref();
  }

  private async connect(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    client.on("end", () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.reconnectLater(url);
    });
    let self = -1;
    // this process's own announcements wake other processes only: its feed learns of its writes by polling,
    // as before, so a single busy process does not poll a hundred times a second for nothing
    client.on("notification", (n) => {
      if (n.processId !== self) this.onWake();
    });
    await client.connect();
    self = (await client.query("select pg_backend_pid() as pid")).rows[0].pid;
    await client.query("listen keel_outbox");
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private reconnectLater(url: string): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect(url).catch(() => this.reconnectLater(url));
    }, 1000);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.pending) clearTimeout(this.pending);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
