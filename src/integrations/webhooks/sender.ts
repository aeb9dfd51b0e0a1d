import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import { inTransaction } from "../../db/tx.js";
import { open } from "../../secrets/box.js";
import { Repeating } from "../dispatch/repeating.js";
import { recordFailure, resolveFailure } from "../monitor/failures.js";
import { sign } from "./signature.js";
import "../../db/schema-webhooks.js";

export interface RetrySchedule {
  /** Delay after the first failure; doubles per attempt. Default 30 s. */
  baseMs: number;
  /** No delay above this. Default 1 h. */
  capMs: number;
  /** Attempts in all before a delivery is dead-lettered. Default 30 (≈ 24 h with the defaults). */
  maxAttempts: number;
  /** ± this fraction of random jitter on each delay. Default 0.2. */
  jitter: number;
}

export const DEFAULT_SCHEDULE: RetrySchedule = {
  baseMs: 30_000,
  capMs: 3_600_000,
  maxAttempts: 30,
  jitter: 0.2,
};

/** Delay before attempt `attempt + 1` after `attempt` failures: base × 2^(attempt−1), capped, jittered. */
export function backoffMs(attempt: number, s: RetrySchedule, random = Math.random): number {
  const d = Math.min(s.capMs, s.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(d * (1 + s.jitter * (2 * random() - 1))));
}

export interface SenderOptions {
  schedule?: Partial<RetrySchedule>;
  timeoutMs?: number;
  /** How long a leased delivery is left alone by other senders; above the timeout. */
  leaseMs?: number;
  /** Subscriptions served per round. Default 100. */
  batchSize?: number;
  /** Deliveries of one subscription leased and sent in order per round, recorded together. Default 50: at most that many are sent again after a crash. */
  runLength?: number;
  intervalMs?: number;
  log?: FastifyBaseLogger;
}

interface Leased {
  id: number;
  subscription_id: number;
  event_id: number;
  event_type: string;
  attempt: number;
  url: string;
  secret: string;
  created_at: Date;
  payload: unknown;
}

/**
 * Sends due deliveries. A subscription is due when its oldest pending delivery
 * has reached its next attempt and nobody holds its lease; then a run of its
 * oldest pending deliveries (up to `runLength`) is leased together and sent
 * one after the other, in event order, while other subscriptions' runs go at
 * the same time. The first failure ends the run: that delivery is scheduled
 * for its retry and the rest of the run is released behind it, so a
 * subscription receives its events in order (a dead-lettered one no longer
 * holds the rest back). Leasing commits before the HTTP calls, and the run's
 * results are recorded in one short transaction after them: a crash in
 * between leaves the leases to expire and those deliveries are sent again.
 */
export class WebhookSender {
  private readonly schedule: RetrySchedule;
  private readonly repeating: Repeating;
  private readonly leaseMs: number;

  constructor(
    private readonly db: DB,
    private readonly opts: SenderOptions = {},
  ) {
    this.schedule = { ...DEFAULT_SCHEDULE, ...opts.schedule };
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.repeating = new Repeating(() => this.sendDue(), {
      intervalMs: opts.intervalMs ?? 150,
      log: opts.log,
      failure: "webhook sending failed",
    });
  }

  start(): void {
    this.repeating.start();
  }

  stop(): Promise<void> {
    return this.repeating.stop();
  }

  /** Leases, sends and records one round: one run per due subscription. Returns deliveries attempted. */
  async sendDue(): Promise<number> {
    const leased = await this.lease();
    const runs = new Map<number, Leased[]>();
    for (const d of leased) runs.set(d.subscription_id, [...(runs.get(d.subscription_id) ?? []), d]);
    const sent = await Promise.all([...runs.values()].map((run) => this.deliverRun(run)));
    return sent.reduce((a, b) => a + b, 0);
  }

  private lease(): Promise<Leased[]> {
    return inTransaction(this.db, async (tx) => {
      // Subscriptions with pending deliveries, locked for this transaction: another sender leasing at
      // the same moment skips them, so two runs of one subscription are never leased at once.
      const subs = await sql<{ id: number }>`
        select s.id from webhook_subscriptions s
        where exists (select 1 from webhook_deliveries d where d.subscription_id = s.id and d.status = 'pending')
        order by s.id limit ${this.opts.batchSize ?? 100}
        for update of s skip locked`.execute(tx);
      if (subs.rows.length === 0) return [];
      // A new statement, so a new snapshot: it sees leases committed by others up to this moment.
      const rows = await sql<Leased>`
        with heads as (
          select h.subscription_id, h.id from unnest(${subs.rows.map((r) => r.id)}::bigint[]) as s(id)
          cross join lateral (
            select d.id, d.subscription_id, d.next_attempt_at, d.leased_until from webhook_deliveries d
            where d.subscription_id = s.id and d.status = 'pending' order by d.id limit 1) h
          where h.next_attempt_at <= now() and (h.leased_until is null or h.leased_until < now())
        ), run as (
          select r.id from heads h cross join lateral (
            select d.id from webhook_deliveries d
            where d.subscription_id = h.subscription_id and d.status = 'pending' and d.id >= h.id
            order by d.id limit ${this.opts.runLength ?? 50}) r
        )
        update webhook_deliveries w
          set leased_until = now() + ${`${this.leaseMs} milliseconds`}::interval, attempt = w.attempt + 1
        from run, webhook_subscriptions s, outbox_events e
        where w.id = run.id and s.id = w.subscription_id and e.id = w.event_id
        returning w.id, w.subscription_id, w.event_id, w.event_type, w.attempt, s.url, s.secret, e.created_at, e.payload`.execute(
        tx,
      );
      return rows.rows.sort((a, b) => Number(a.id) - Number(b.id));
    });
  }

  /** Sends a subscription's run in order until the first failure, or until half the lease is spent. */
  private async deliverRun(run: Leased[]): Promise<number> {
    const started = performance.now();
    const delivered: Sent[] = [];
    let failed: Sent | undefined;
    for (const d of run) {
      if (delivered.length > 0 && performance.now() - started > this.leaseMs / 2) break;
      const result = await this.send(d);
      if (result.error !== null) {
        failed = result;
        break;
      }
      delivered.push(result);
    }
    const attempted = new Set([...delivered, ...(failed ? [failed] : [])].map((r) => r.d.id));
    await this.record(
      delivered,
      failed,
      run.filter((d) => !attempted.has(d.id)),
    );
    return attempted.size;
  }

  private async send(d: Leased): Promise<Sent> {
    const body = JSON.stringify({
      id: d.event_id,
      type: d.event_type,
      created_at: new Date(d.created_at).toISOString(),
      data: d.payload,
    });
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(d.url, {
        method: "POST",
        body,
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "Keel-Webhooks/1",
          "keel-event-id": String(d.event_id),
          "keel-event-type": d.event_type,
          "keel-signature": sign(open(d.secret), body), // encrypted at rest
        },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      statusCode = res.status;
      await res.body?.cancel().catch(() => {});
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error;
      error = e.name === "TimeoutError" ? "timeout" : `${e.name}: ${e.message}`.slice(0, 500);
    }
    return { d, statusCode, latency: Math.round(performance.now() - started), error };
  }

  /** A run's outcome in one transaction: the delivered, the one that failed, and the rest released unsent. */
  private async record(delivered: Sent[], failed: Sent | undefined, unsent: Leased[]) {
    const subscriptionId = (delivered[0] ?? failed)?.d.subscription_id ?? unsent[0]?.subscription_id;
    if (subscriptionId === undefined) return;
    const subject = `sub:${subscriptionId}`;
    await inTransaction(this.db, async (tx) => {
      if (unsent.length) {
        // not attempted after all: the lease's attempt is given back
        await sql`update webhook_deliveries set leased_until = null, attempt = attempt - 1
                  where id = any(${unsent.map((d) => d.id)}::bigint[])`.execute(tx);
      }
      if (delivered.length) {
        await sql`
          update webhook_deliveries w set status = 'delivered', delivered_at = now(), status_code = k.code,
            latency_ms = k.ms, error = null, leased_until = null
          from unnest(${delivered.map((r) => r.d.id)}::bigint[], ${delivered.map((r) => r.statusCode)}::int[],
                      ${delivered.map((r) => r.latency)}::int[]) as k(id, code, ms)
          where w.id = k.id`.execute(tx);
        await tx
          .updateTable("webhook_subscriptions")
          .set({ status: "active", updated_at: new Date() })
          .where("id", "=", subscriptionId)
          .where("status", "=", "failing")
          .execute();
        await resolveFailure(tx, { source: "webhook", operation: "deliver", subject });
      }
      if (!failed) return;
      const { d, statusCode, latency, error } = failed;
      const dead = d.attempt >= this.schedule.maxAttempts;
      await tx
        .updateTable("webhook_deliveries")
        .set({ status: dead ? "dead" : "pending", status_code: statusCode, latency_ms: latency, error })
        .set({
          leased_until: null,
          next_attempt_at: new Date(Date.now() + backoffMs(d.attempt, this.schedule)),
        })
        .where("id", "=", d.id)
        .execute();
      if (!dead) return;
      await tx
        .updateTable("webhook_subscriptions")
        .set({ status: "failing", updated_at: new Date() })
        .where("id", "=", d.subscription_id)
        .execute();
      await recordFailure(tx, {
        source: "webhook",
        operation: "deliver",
        subject,
        error: `delivery ${d.id} (event ${d.event_id}) dead after ${d.attempt} attempts: ${error}`,
        detail: {
          subscription_id: d.subscription_id,
          delivery_id: d.id,
          event_id: d.event_id,
          status_code: statusCode,
        },
      });
    });
  }
}

interface Sent {
  d: Leased;
  statusCode: number | null;
  latency: number;
  error: string | null;
}
