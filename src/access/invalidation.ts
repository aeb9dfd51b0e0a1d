import pg from "pg";
import { connectionStringOf, type DB } from "../db/pool.js";

/**
 * Tells this process at once when another process (or psql) changed API keys,
 * their roles or role permissions: triggers on those tables `pg_notify` the
 * channel `keel_access` (migration 060) and this LISTENs on a connection of
 * its own. While that connection is down, `healthy` is false and the key
 * cache must not be trusted (the verifier then asks the database every time);
 * after a reconnect everything cached is dropped, since notifications sent in
 * between were lost.
 */
export class AccessChanges {
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  healthy = false;

  constructor(
    private db: DB,
    private onChange: () => void,
  ) {}

  async start(): Promise<void> {
    const url = connectionStringOf(this.db);
    if (!url) return; // a DB made elsewhere: the verifier falls back to asking every time
    await this.connect(url).catch(() => this.reconnectLater(url));
  }

  private async connect(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    client.on("end", () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.healthy = false;
      this.onChange();
      this.reconnectLater(url);
    });
    client.on("notification", () => this.onChange());
    await client.connect();
    await client.query("listen keel_access");
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.onChange(); // anything cached while we were not listening may be stale
    this.healthy = true;
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
    const client = this.client;
    this.client = undefined;
    this.healthy = false;
    await client?.end().catch(() => {});
  }
}
