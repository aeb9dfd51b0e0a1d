import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { listEvents, type OutboxEvent } from "./outbox.js";

export type FeedListener = (events: OutboxEvent[]) => void;

/**
 * Tails the outbox inside one process, in commit-safe order, from the moment
 * it starts: in-process caches and live streams learn of every committed
 * change from here, whichever process made it. Listeners run synchronously
 * and must not throw.
 */
export class EventFeed {
  private after = 0;
  private listeners = new Map<FeedListener, string[] | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private started = false;
  private again = false;

  constructor(
    private db: DB,
    private intervalMs = 100,
  ) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const last = await sql<{ id: number }>`
      select id from outbox_events where txid < pg_snapshot_xmin(pg_current_snapshot())
      order by txid desc, id desc limit 1`.execute(this.db);
    this.after = last.rows[0]?.id ?? 0;
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => void this.poll().catch(() => {}), this.intervalMs);
      this.timer.unref();
    }
  }

  /**
   * `payloadOf`: the event types whose payload the listener reads; the others
   * reach it with payload null. Left out, it gets every payload. The feed
   * reads only payloads some listener wants: under load most events (order
   * transitions) interest no in-process listener, and reading and parsing
   * their JSON was most of the feed's cost.
   */
  subscribe(listener: FeedListener, payloadOf?: string[]): () => void {
    this.listeners.set(listener, payloadOf);
    return () => this.listeners.delete(listener);
  }

  /** How many listeners are subscribed (live streams among them). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The types whose payload some listener reads; undefined when one reads them all. */
  private payloadOf(): string[] | undefined {
    const wanted = new Set<string>();
    for (const types of this.listeners.values()) {
      if (!types) return undefined;
      for (const t of types) wanted.add(t);
    }
    return [...wanted];
  }

  /**
   * A wake-up (LISTEN/NOTIFY, src/events/wakeups.ts): polls now, or once more
   * after the poll in flight, which may have read before the change committed.
   */
  wake(): void {
    if (!this.started) return;
    if (!this.polling) {
      void this.poll().catch(() => {});
      return;
    }
    if (this.again) return;
    this.again = true;
    void this.polling
      .then(() => {
        this.again = false;
        return this.poll();
      })
      .catch(() => {});
  }

  /** Reads and dispatches everything committed so far. Safe to call at any time; calls coalesce. */
  poll(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.polling ??= this.drain().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const events = await listEvents(this.db, {
        after: this.after,
        limit: 1000,
        payloadOf: this.payloadOf(),
      });
      if (events.length === 0) return;
      this.after = events[events.length - 1].id;
      for (const listener of this.listeners.keys()) listener(events);
      if (events.length < 1000) return;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    this.listeners.clear();
  }
}
