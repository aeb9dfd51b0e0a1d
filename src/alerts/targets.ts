import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import "../db/schema-reports.js";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";
import type { OutboxConsumer } from "../integrations/dispatch/consumer.js";
import { seal } from "../secrets/box.js";

export interface TargetView {
  id: number;
  kind: "webhook" | "slack" | "email";
  target: string;
  alert_kinds: string[];
  digest_minutes: number | null;
  active: boolean;
  created_at: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Adds a target. Webhook and Slack targets are http(s) URLs, e-mail targets
 * an address. A webhook target's signing secret (32 random bytes as hex) is
 * in this answer and never again. `digest_minutes`: one message per window
 * with every alert opened in it.
 */
export async function createTarget(
  tx: Tx,
  input: {
    kind: "webhook" | "slack" | "email";
    target: string;
    alert_kinds: string[];
    digest_minutes?: number;
  },
): Promise<TargetView & { secret?: string }> {
  if (input.kind === "email" ? !EMAIL.test(input.target) : !/^https?:\/\/[^\s]+$/.test(input.target)) {
    throw new ValidationFailed([
      {
        path: "body.target",
        message: input.kind === "email" ? "not an e-mail address" : "not an http(s) URL",
      },
    ]);
  }
  const secret = input.kind === "webhook" ? randomBytes(32).toString("hex") : null;
  const row = await tx
    .insertInto("notification_targets")
    .values({
      kind: input.kind,
      target: input.target,
      alert_kinds: input.alert_kinds,
      digest_minutes: input.digest_minutes ?? null,
      secret: secret === null ? null : seal(secret), // encrypted at rest; the reply shows it once
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...viewOf(row), ...(secret ? { secret } : {}) };
}

function viewOf(r: {
  id: number;
  kind: TargetView["kind"];
  target: string;
  alert_kinds: string[];
  digest_minutes: number | null;
  active: boolean;
  created_at: Date;
}): TargetView {
  return {
    id: r.id,
    kind: r.kind,
    target: r.target,
    alert_kinds: r.alert_kinds,
    digest_minutes: r.digest_minutes,
    active: r.active,
    created_at: r.created_at.toISOString(),
  };
}

export async function listTargets(db: DB): Promise<TargetView[]> {
  const rows = await db.selectFrom("notification_targets").selectAll().orderBy("id").execute();
  return rows.map(viewOf);
}

/**
 * The outbox consumer that turns each opened alert into one notification
 * row per active target that wants its kind, in the dispatcher's
 * transaction: exactly once per alert and target (the unique key makes a
 * replayed batch a no-op). Digest targets' rows wait as `queued`.
 */
export const alertNotifier: OutboxConsumer = {
  name: "alert-notifications",
  types: ["alert.opened"],
  async handle(tx, events) {
    const alerts = events.map((e) => ({ event: e.id, ...(e.payload as { id: number; kind: string }) }));
    if (alerts.length === 0) return;
    await sql`
      insert into notifications (target_id, alert_id, event_id, status)
      select t.id, a.alert_id, a.event_id, case when t.digest_minutes is null then 'pending' else 'queued' end
      from unnest(${alerts.map((a) => a.id)}::bigint[], ${alerts.map((a) => a.event)}::bigint[], ${alerts.map((a) => a.kind)}::text[])
        as a(alert_id, event_id, kind)
      join notification_targets t on t.active and (cardinality(t.alert_kinds) = 0 or a.kind = any(t.alert_kinds))
      order by a.event_id, t.id
      on conflict (target_id, alert_id) do nothing`.execute(tx);
  },
};
