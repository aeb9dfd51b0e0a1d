import { sql } from "kysely";
import type { DB } from "../../db/pool.js";
import { NotFound } from "../../http/errors.js";
import "../../db/schema-inbound.js";
import "../../db/schema-shopify.js";

/**
 * A channel's health (GET /v1/channels/{code}/health), the one place it is
 * derived for every kind: what is waiting (webhook deliveries not applied
 * yet, WooCommerce SKUs and Shopify levels not pushed yet), how
 * old the oldest waiting thing is, the last success either way, and the
 * integration failures of the channel (every source records them with the
 * channel code). `failing`: open failures and nothing succeeded in the last
 * hour; `degraded`: open failures, or work waiting over a minute; else `ok`.
 */
export interface ChannelHealth {
  last_success_at: string | null;
  pending: number;
  lag_seconds: number;
  failures_24h: number;
  open_failures: number;
  status: "ok" | "degraded" | "failing";
}

export async function channelHealth(db: DB, code: string): Promise<ChannelHealth> {
  const channel = await db.selectFrom("channels").select("id").where("code", "=", code).executeTakeFirst();
  if (!channel) throw new NotFound("channel", code);
  const r = (
    await sql<{
      inbox_pending: string;
      inbox_oldest: Date | null;
      inbox_success: Date | null;
      woo_pending: string;
      woo_oldest: Date | null;
      woo_success: Date | null;
      shopify_pending: string;
      shopify_oldest: Date | null;
      shopify_success: Date | null;
      out_pending: string;
      out_oldest: Date | null;
      out_success: Date | null;
      failures_24h: string;
      open_failures: string;
    }>`
    select
      (select count(*) from channel_inbox where channel_id = ${channel.id} and status = 'pending') as inbox_pending,
      (select min(received_at) from channel_inbox where channel_id = ${channel.id} and status = 'pending') as inbox_oldest,
      (select max(processed_at) from channel_inbox where channel_id = ${channel.id} and status in ('done', 'stale', 'ignored')) as inbox_success,
      (select count(*) from channel_woo_items where channel_id = ${channel.id} and dirty_at is not null) as woo_pending,
      (select min(dirty_at) from channel_woo_items where channel_id = ${channel.id} and dirty_at is not null) as woo_oldest,
      (select max(pushed_at) from channel_woo_items where channel_id = ${channel.id}) as woo_success,
      (select count(*) from shopify_stock_targets where channel_id = ${channel.id} and state = 'dirty') as shopify_pending,
      (select min(dirty_since) from shopify_stock_targets where channel_id = ${channel.id} and state = 'dirty') as shopify_oldest,
      (select last_success_at from shopify_channel_state where channel_id = ${channel.id}) as shopify_success,
      -- shipments and product changes on their way to the shop
      (select count(*) from (
         select 1 from shopify_shipments where channel_id = ${channel.id} and state = 'pending'
         union all select 1 from woo_shipments where channel_id = ${channel.id} and state = 'pending'
         union all select 1 from shopify_product_pushes where channel_id = ${channel.id} and state = 'pending') x) as out_pending,
      (select min(t) from (
         select created_at as t from shopify_shipments where channel_id = ${channel.id} and state = 'pending'
         union all select created_at from woo_shipments where channel_id = ${channel.id} and state = 'pending'
         union all select updated_at from shopify_product_pushes where channel_id = ${channel.id} and state = 'pending') x) as out_oldest,
      (select max(t) from (
         select sent_at as t from shopify_shipments where channel_id = ${channel.id}
         union all select sent_at from woo_shipments where channel_id = ${channel.id}
         union all select sent_at from shopify_product_pushes where channel_id = ${channel.id}) x) as out_success,
      (select count(*) from integration_failures where channel_code = ${code} and last_at > now() - interval '24 hours') as failures_24h,
      (select count(*) from integration_failures where channel_code = ${code} and status = 'open') as open_failures`.execute(
      db,
    )
  ).rows[0];
  const times = (xs: (Date | null)[]) =>
    xs.filter((x): x is Date => x !== null).map((x) => new Date(x).getTime());
  const oldest = Math.min(
    ...times([r.inbox_oldest, r.woo_oldest, r.shopify_oldest, r.out_oldest]),
    Number.POSITIVE_INFINITY,
  );
  const success = Math.max(
    ...times([r.inbox_success, r.woo_success, r.shopify_success, r.out_success]),
    Number.NEGATIVE_INFINITY,
  );
  const lag = Number.isFinite(oldest) ? Math.max(0, Math.round((Date.now() - oldest) / 1000)) : 0;
  const open = Number(r.open_failures);
  const recentSuccess = Number.isFinite(success) && Date.now() - success < 3_600_000;
  return {
    last_success_at: Number.isFinite(success) ? new Date(success).toISOString() : null,
    pending:
      Number(r.inbox_pending) + Number(r.woo_pending) + Number(r.shopify_pending) + Number(r.out_pending),
    lag_seconds: lag,
    failures_24h: Number(r.failures_24h),
    open_failures: open,
    status: open > 0 && !recentSuccess ? "failing" : open > 0 || lag > 60 ? "degraded" : "ok",
  };
}
