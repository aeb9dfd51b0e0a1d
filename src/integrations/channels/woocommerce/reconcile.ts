import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { findChannel } from "../../../orders/channels.js";
import { processInbox } from "../inbox.js";
import { inboxHandlers } from "../inbox-handlers.js";
import { idText } from "../inbox-json.js";
import type { WooClient } from "./client.js";
import { pushWooStock, wooClientFor } from "./stock.js";

/**
 * The WooCommerce reconcile. WooCommerce does not retry a webhook and
 * disables one after 5 failures, so deliveries do get lost:
 * - orders: the orders WooCommerce changed since `since` that Keel never saw,
 *   or saw in an older state, go into the inbox as deliveries keyed exactly as
 *   a webhook of the same state would be (`order:<id>:<date_modified_gmt>`), so
 *   a late webhook and the reconcile never apply one state twice;
 * - stock: what WooCommerce has now is read for every SKU and whatever differs
 *   from what Keel offers is sent again (WooCommerce has no compare-and-set,
 *   so a sale racing Keel's absolute set is corrected here).
 */

const HANDLERS = inboxHandlers();
const TOPICS = ["order.created", "order.updated", "order.restored"];

export interface WooReconcileReport {
  since: string;
  orders_seen: number;
  orders_missed: number;
  orders_outdated: number;
  orders_applied: number;
  orders_failed: number;
  skus_checked: number;
  skus_drifted: number;
  stock_pushed: number;
  drift: { sku: string; woocommerce: number | null; sent: number | null }[];
}

export async function reconcileWoo(
  db: DB,
  code: string,
  opts: { since?: Date; client?: WooClient } = {},
): Promise<WooReconcileReport> {
  const channel = await findChannel(db, code);
  if (channel?.kind !== "woocommerce") throw new Error(`${code} is not a WooCommerce channel`);
  const client = opts.client ?? wooClientFor(channel.config);
  const since = opts.since ?? new Date(Date.now() - 25 * 3_600_000);
  const report: WooReconcileReport = {
    since: since.toISOString(),
    orders_seen: 0,
    orders_missed: 0,
    orders_outdated: 0,
    orders_applied: 0,
    orders_failed: 0,
    skus_checked: 0,
    skus_drifted: 0,
    stock_pushed: 0,
    drift: [],
  };
  const keys: string[] = [];
  for await (const page of client.ordersModifiedAfter(since)) {
    report.orders_seen += page.length;
    const ids = page.map((o) => idText(o.id)).filter((x): x is string => Boolean(x));
    const known = new Map(
      (
        await db
          .selectFrom("channel_orders")
          .select(["external_id", "order_id", "last_triggered_at"])
          .where("channel_id", "=", channel.id)
          .where("external_id", "in", ids.length ? ids : [""])
          .execute()
      ).map((k) => [k.external_id, k]),
    );
    for (const o of page) {
      const id = idText(o.id);
      const at = typeof o.date_modified_gmt === "string" ? o.date_modified_gmt : null;
      if (!id || !at) continue;
      const modified = new Date(`${at}Z`);
      const k = known.get(id);
      if (k?.order_id && k.last_triggered_at && new Date(k.last_triggered_at) >= modified) continue;
      const key = `order:${id}:${at}`;
      const res = await sql`
        insert into channel_inbox (channel_id, platform, topic, dedupe_key, triggered_at, headers, body)
        values (${channel.id}, 'woocommerce', ${k?.order_id ? "order.updated" : "order.created"}, ${key}, ${modified},
                ${JSON.stringify({ source: "keel-reconcile" })}::jsonb, ${JSON.stringify(o)})
        on conflict do nothing`.execute(db);
      if (Number(res.numAffectedRows ?? 0) === 0) continue; // its webhook (or an earlier reconcile) has it
      keys.push(key);
      if (k?.order_id) report.orders_outdated++;
      else report.orders_missed++;
    }
  }
  if (keys.length) {
    await processInbox(db, HANDLERS, 10_000, { channelId: channel.id, topics: TOPICS });
    const st = await db
      .selectFrom("channel_inbox")
      .select("status")
      .where("channel_id", "=", channel.id)
      .where("dedupe_key", "in", keys)
      .execute();
    report.orders_applied = st.filter((s) => s.status === "done").length;
    report.orders_failed = st.filter((s) => s.status === "failed").length;
  }
  // stock after the orders: what the shop has, against what Keel offers now
  const stock = await pushWooStock(db, code, { verify: true, client });
  report.skus_checked = stock.done.length + stock.failed;
  report.skus_drifted = stock.drifted.length;
  report.drift = stock.drifted.slice(0, 20);
  report.stock_pushed = stock.pushed;
  return report;
}
