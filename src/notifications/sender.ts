import { sql } from "kysely";
import nodemailer from "nodemailer";
import type { DB } from "../db/pool.js";
import { recordFailure, resolveFailure } from "../integrations/monitor/failures.js";
import type { RetryHandler } from "../integrations/monitor/retry.js";
import { readNotificationSettings } from "./settings.js";

/**
 * Sends due customer e-mails over SMTP (nodemailer). Rows are leased first
 * (a short transaction with `FOR UPDATE SKIP LOCKED`, so several Keel
 * processes never send the same row at once), then sent outside any
 * transaction, then marked. A failure is retried with backoff (1, 4, 16, 64
 * minutes…) up to MAX_ATTEMPTS, then the row is `failed`; every failure is
 * visible in the integration monitor (source `email`, one per message) and
 * resolved when a later attempt succeeds. A process dying after the send and
 * before the mark sends that message again once its lease ends: at least once.
 */

export const MAX_ATTEMPTS = 6;
const LEASE_SECONDS = 120;

export async function sendCustomerEmails(db: DB, opts: { limit?: number; now?: Date } = {}): Promise<number> {
  const s = await readNotificationSettings(db);
  if (!s.enabled || !s.smtp_url) return 0;
  const due = await sql<{
    id: number;
    order_id: number;
    to_address: string;
    subject: string;
    body: string;
    attempts: number;
  }>`
    update customer_notifications n set lease_until = now() + make_interval(secs => ${LEASE_SECONDS})
    where n.id in (
      select id from customer_notifications
      where status = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until < now())
      order by next_attempt_at, id limit ${opts.limit ?? 50}
      for update skip locked)
    returning n.id, n.order_id, n.to_address, n.subject, n.body, n.attempts`.execute(db);
  if (due.rows.length === 0) return 0;
  const transport = nodemailer.createTransport(s.smtp_url);
  let sent = 0;
  try {
    for (const m of due.rows) {
      try {
        const info = await transport.sendMail({
          from: s.from,
          to: m.to_address,
          subject: m.subject,
          text: m.body,
        });
        await db.transaction().execute(async (tx) => {
          await sql`update customer_notifications set status = 'sent', sent_at = now(), attempts = attempts + 1,
            message_id = ${info.messageId ?? null}, lease_until = null, last_error = null where id = ${m.id}`.execute(
            tx,
          );
          await resolveFailure(tx, { source: "email", operation: "notify_customer", subject: String(m.id) });
        });
        sent += 1;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        const attempts = m.attempts + 1;
        await db.transaction().execute(async (tx) => {
          await sql`update customer_notifications set attempts = ${attempts}, last_error = ${error.slice(0, 2000)},
            lease_until = null,
            status = case when ${attempts} >= ${MAX_ATTEMPTS} then 'failed' else 'pending' end,
            next_attempt_at = now() + make_interval(mins => ${4 ** (attempts - 1)})
            where id = ${m.id}`.execute(tx);
          await recordFailure(tx, {
            source: "email",
            operation: "notify_customer",
            subject: String(m.id),
            error,
            detail: { notification_id: m.id, order_id: m.order_id, to: m.to_address, attempts },
          });
        });
      }
    }
  } finally {
    transport.close();
  }
  return sent;
}

/**
 * The monitor's retry for an e-mail failure: the message is due again at once
 * (pending again if it had failed for good); a new failure opens if it fails again.
 */
export const retryEmailFailure: RetryHandler = async (failure, tx) => {
  const id = Number((failure.detail as { notification_id?: unknown }).notification_id);
  if (!Number.isInteger(id)) throw new Error("the failure does not name its notification");
  const r =
    await sql`update customer_notifications set status = 'pending', next_attempt_at = now(), lease_until = null
    where id = ${id} and status <> 'sent'`.execute(tx);
  if (Number(r.numAffectedRows ?? 0) === 0) throw new Error(`notification ${id} was sent already`);
};
