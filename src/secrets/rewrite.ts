import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { sealConfig } from "../integrations/channels/config.js";
import { isSealed, SEALED_PREFIX, type SecretKey, SecretKeyError, seal, sealBytes } from "./box.js";
import "../db/schema-access.js";
import "../db/schema-reports.js";
import "../db/schema-webhooks.js";

export interface RewriteResult {
  /** Secrets that were stored in plain text and are now encrypted. */
  sealed: number;
}

const CONSTRAINTS = [["webhook_subscriptions", "webhook_subscriptions_secret_sealed"]] as const;

/**
 * At start: encrypts every secret still stored in plain text (rows from
 * before migration 063), in one transaction with the rows locked, then lets
 * the database check every row from now on (VALIDATE CONSTRAINT). First it
 * checks that the secrets already encrypted were encrypted with this key, so
 * a Keel started with the wrong KEEL_SECRET stops here with a message rather
 * than failing every webhook signature later. Idempotent and cheap when
 * nothing is left to do.
 */
export async function sealStoredSecrets(db: DB, key: SecretKey): Promise<RewriteResult> {
  const mine = `${SEALED_PREFIX}${key.id}:%`;
  const foreign = await sql<{ where: string; id: string }>`
    select 'webhook_subscriptions' as where, id::text from webhook_subscriptions
      where secret like 'enc:v1:%' and secret not like ${mine}
    union all
    select 'notification_targets', id::text from notification_targets
      where secret like 'enc:v1:%' and secret not like ${mine}
    union all
    select 'channels', code from channels c, jsonb_each_text(c.config) e
      where e.value like 'enc:v1:%' and e.value not like ${mine}
    limit 1`.execute(db);
  const other = foreign.rows[0];
  if (other) {
    throw new SecretKeyError(
      `${other.where} ${other.id} holds a secret encrypted with another key; this Keel's key (${key.source}) has id ${key.id}: start it with the KEEL_SECRET the data was written with`,
    );
  }

  const sealed = await inTransaction(db, async (tx) => {
    let n = 0;
    const subs = await tx
      .selectFrom("webhook_subscriptions")
      .select(["id", "secret"])
      .where("secret", "not like", "enc:v1:%")
      .orderBy("id")
      .forUpdate()
      .execute();
    for (const s of subs) {
      await tx
        .updateTable("webhook_subscriptions")
        .set({ secret: seal(s.secret, key) })
        .where("id", "=", s.id)
        .execute();
    }
    n += subs.length;
    const targets = await tx
      .selectFrom("notification_targets")
      .select(["id", "secret"])
      .where("secret", "is not", null)
      .where("secret", "not like", "enc:v1:%")
      .orderBy("id")
      .forUpdate()
      .execute();
    for (const t of targets) {
      await tx
        .updateTable("notification_targets")
        .set({ secret: seal(t.secret as string, key) })
        .where("id", "=", t.id)
        .execute();
    }
    n += targets.length;
    const channels = await sql<{ id: number; config: Record<string, unknown> }>`
      select id, config from channels order by id for update`.execute(tx);
    for (const c of channels.rows) {
      const config = c.config ?? {};
      const before = Object.values(config).filter((v) => typeof v === "string" && !isSealed(v)).length;
      const next = sealConfig(config);
      const after = Object.values(next).filter((v) => typeof v === "string" && !isSealed(v)).length;
      if (after === before) continue;
      await sql`update channels set config = ${JSON.stringify(next)}::jsonb where id = ${c.id}`.execute(tx);
      n += before - after;
    }
    const users = await sql<{ id: number; totp_secret: Buffer | null; totp_pending_secret: Buffer | null }>`
      select id, totp_secret, totp_pending_secret from users
      where (totp_secret is not null and substring(totp_secret from 1 for 7) <> convert_to('enc:v1:', 'UTF8'))
         or (totp_pending_secret is not null and substring(totp_pending_secret from 1 for 7) <> convert_to('enc:v1:', 'UTF8'))
      order by id for update`.execute(tx);
    const plain = (b: Buffer | null) => b !== null && b.subarray(0, 7).toString("latin1") !== SEALED_PREFIX;
    for (const u of users.rows) {
      await tx
        .updateTable("users")
        .set({
          ...(plain(u.totp_secret) ? { totp_secret: sealBytes(u.totp_secret as Buffer, key) } : {}),
          ...(plain(u.totp_pending_secret)
            ? { totp_pending_secret: sealBytes(u.totp_pending_secret as Buffer, key) }
            : {}),
        })
        .where("id", "=", u.id)
        .execute();
      n += Number(plain(u.totp_secret)) + Number(plain(u.totp_pending_secret));
    }
    return n;
  });

  for (const [table, name] of CONSTRAINTS) {
    const c = await sql<{ convalidated: boolean }>`
      select convalidated from pg_constraint where conname = ${name}`.execute(db);
    if (c.rows[0] && !c.rows[0].convalidated) {
      await sql`alter table ${sql.table(table)} validate constraint ${sql.ref(name)}`.execute(db);
    }
  }
  return { sealed };
}
