import { sql } from "kysely";
import nodemailer from "nodemailer";
import "../db/schema-reports.js";
import type { DB } from "../db/pool.js";
import { recordFailure, resolveFailure } from "../integrations/monitor/failures.js";
import { sign } from "../integrations/webhooks/signature.js";
import { open } from "../secrets/box.js";

/**
 * Sends notifications: first closes the digest windows that have ended (a
 * digest target's queued rows become one pending message), then leases due
 * messages — one per target and alert, or per digest — and sends them.
 * Leasing commits before the call and the result is recorded after it, like
 * webhook deliveries: a crash in between leaves the lease to expire and the
 * message is sent again (receivers can tell by `Keel-Notification-Id`).
 * Failures back off exponentially, are recorded as integration failures
 * (source `notifications`) and give up after `maxAttempts`.
 */
export interface NotifyOptions {
  /** SMTP server for e-mail targets; else the `notifications` setting's `smtp_url`, else KEEL_SMTP_URL. */
  smtpUrl?: string;
  from?: string;
  timeoutMs?: number;
  maxAttempts?: number;
}

interface Message {
  key: number;
  ids: number[];
  target_id: number;
  kind: "webhook" | "slack" | "email";
  target: string;
  secret: string | null;
  attempts: number;
  digest: boolean;
  alerts: { id: number; kind: string; key: string; evidence: Record<string, unknown>; opened_at: string }[];
}

async function closeDigests(db: DB): Promise<void> {
  await sql`
    with due as (
      select t.id, min(n.id) as first from notification_targets t join notifications n on n.target_id = t.id and n.status = 'queued'
      where t.digest_minutes is not null
      group by t.id, t.digest_minutes, t.last_digest_at
      having greatest(min(n.created_at), coalesce(t.last_digest_at, '-infinity')) + make_interval(mins => t.digest_minutes) <= now()
    ), stamped as (
      update notification_targets t set last_digest_at = now() from due where t.id = due.id
    )
    update notifications n set status = 'pending', digest_id = due.first, next_at = now()
    from due where n.target_id = due.id and n.status = 'queued'`.execute(db);
}

async function lease(db: DB, leaseMs: number): Promise<Message[]> {
  const r = await sql<Message>`
    with due as (
      select n.id from notifications n
      where n.status = 'pending' and n.next_at <= now() order by n.id limit 200
      for update skip locked
    ), leased as (
      update notifications n set leased_until = now() + ${`${leaseMs} milliseconds`}::interval,
        next_at = now() + ${`${leaseMs} milliseconds`}::interval, attempts = n.attempts + 1
      from due where n.id = due.id
      returning n.id, n.target_id, n.alert_id, n.digest_id, n.attempts
    )
    select coalesce(l.digest_id, l.id) as key, array_agg(l.id order by l.id) as ids, t.id as target_id, t.kind, t.target, t.secret,
      max(l.attempts)::int as attempts, bool_or(l.digest_id is not null) as digest,
      json_agg(json_build_object('id', a.id, 'kind', a.kind, 'key', a.key, 'evidence', a.evidence, 'opened_at', a.opened_at)
        order by a.id) as alerts
    from leased l join notification_targets t on t.id = l.target_id join alerts a on a.id = l.alert_id
    group by coalesce(l.digest_id, l.id), t.id, t.kind, t.target, t.secret order by 1`.execute(db);
  return r.rows;
}

const line = (a: Message["alerts"][number]) => {
  const e = a.evidence;
  const what =
    a.kind === "low_stock" || a.kind === "out_of_stock"
      ? `${e.sku} at ${e.location}: ${e.available} available${e.threshold != null ? ` (threshold ${e.threshold})` : ""}`
      : a.kind === "order_overdue"
        ? `order ${e.number} (${e.status}) was due ${e.sla_due_at}`
        : a.kind === "receipt_late"
          ? `purchase order ${e.purchase_order_id} from ${e.supplier}: ${e.units_outstanding} units expected ${e.expected_date}`
          : a.kind === "integration_failing"
            ? `${e.source}${e.channel ? ` (${e.channel})` : ""}: ${e.open_failures} open failures`
            : a.key;
  return `[${a.kind}] ${what}`;
};

export function subjectOf(m: Pick<Message, "alerts" | "digest">): string {
  return m.digest || m.alerts.length > 1
    ? `Keel: ${m.alerts.length} new alerts`
    : `Keel alert: ${line(m.alerts[0])}`;
}
export function textOf(m: Pick<Message, "alerts" | "digest">): string {
  return m.alerts.map(line).join("\n");
}

async function smtpSettings(db: DB, opts: NotifyOptions): Promise<{ url?: string; from: string }> {
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", "notifications")
    .executeTakeFirst();
  const v = (row?.value ?? {}) as { smtp_url?: string; from?: string };
  return {
    url: opts.smtpUrl ?? v.smtp_url ?? process.env.KEEL_SMTP_URL,
    from: opts.from ?? v.from ?? process.env.KEEL_MAIL_FROM ?? "keel@localhost",
  };
}

async function deliver(db: DB, m: Message, opts: NotifyOptions): Promise<void> {
  const timeout = opts.timeoutMs ?? 10_000;
  if (m.kind === "email") {
    const smtp = await smtpSettings(db, opts);
    if (!smtp.url)
      throw new Error("no SMTP server configured (settings.notifications.smtp_url or KEEL_SMTP_URL)");
    const transport = nodemailer.createTransport(smtp.url);
    try {
      await transport.sendMail({
        from: smtp.from,
        to: m.target,
        subject: subjectOf(m),
        text: textOf(m),
        headers: { "Keel-Notification-Id": String(m.key) },
      });
    } finally {
      transport.close();
    }
    return;
  }
  const body =
    m.kind === "slack"
      ? JSON.stringify({ text: `${subjectOf(m)}\n${textOf(m)}` })
      : JSON.stringify({ id: m.key, type: m.digest ? "alerts.digest" : "alert.opened", alerts: m.alerts });
  const res = await fetch(m.target, {
    method: "POST",
    body,
    redirect: "manual",
    headers: {
      "content-type": "application/json",
      "user-agent": "Keel-Notifications/1",
      "keel-notification-id": String(m.key),
      ...(m.secret ? { "keel-signature": sign(open(m.secret), body) } : {}), // encrypted at rest
    },
    signal: AbortSignal.timeout(timeout),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
}

/** One round: close ended digests, lease due messages, send them. Returns how many were sent. */
export async function sendNotifications(db: DB, opts: NotifyOptions = {}): Promise<number> {
  await closeDigests(db);
  const messages = await lease(db, (opts.timeoutMs ?? 10_000) * 3);
  let sent = 0;
  await Promise.all(
    messages.map(async (m) => {
      const subject = `target:${m.target_id}`;
      try {
        await deliver(db, m, opts);
        await db.transaction().execute(async (tx) => {
          await sql`update notifications set status = 'sent', sent_at = now(), leased_until = null, last_error = null
            where id = any(${m.ids}::bigint[])`.execute(tx);
          await resolveFailure(tx, { source: "notifications", operation: "notify", subject });
        });
        sent += 1;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        const give = m.attempts >= (opts.maxAttempts ?? 12);
        await db.transaction().execute(async (tx) => {
          await sql`update notifications set status = ${give ? "failed" : "pending"}, last_error = ${error.slice(0, 2000)},
              leased_until = null, next_at = now() + make_interval(secs => ${Math.min(3600, 15 * 2 ** (m.attempts - 1))})
            where id = any(${m.ids}::bigint[])`.execute(tx);
          await recordFailure(tx, {
            source: "notifications",
            operation: "notify",
            subject,
            error,
            detail: { kind: m.kind, target: m.target, notifications: m.ids },
          });
        });
      }
    }),
  );
  return sent;
}
