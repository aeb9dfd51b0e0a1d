import { sql } from "kysely";
import type { DB } from "../../../db/pool.js";
import { inTransaction } from "../../../db/tx.js";
import { processInbox } from "../inbox.js";
import { inboxHandlers } from "../inbox-handlers.js";
import type { ShopifyClient } from "./client.js";
import { levelKey, readAvailable } from "./inventory-api.js";
import { enqueueTargets, type ShopifyChannel } from "./targets.js";
import "../../../db/schema-shopify.js";

/**
 * The reconcile, because Shopify does not guarantee webhook delivery (its
 * docs say to "implement reconciliation jobs"):
 *
 * - orders: pages through the orders Shopify changed since `since`; an order
 *   Keel never saw, or saw in an older state (a lost orders/cancelled), goes
 *   into the inbox as a delivery of its own (`reconcile:<gid>:<updatedAt>`)
 *   and is applied by the same code as a webhook, so an order is never placed
 *   twice (the channel order's link row) and an older state changes nothing;
 * - levels: every synced level is read from Shopify and compared with what
 *   Keel offers; a level that differs is taken as the compare value and
 *   pushed again by the sender; one that matches is confirmed.
 * Both report what they found and changed.
 */

const ORDER_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create"];
const HANDLERS = inboxHandlers();
/** Orders per page: 10 × (30 lines) keeps a page near 730 points, within a small plan's 1,000. */
const ORDERS = `query KeelReconcileOrders($after: String, $query: String) {
  orders(first: 10, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name email createdAt processedAt updatedAt cancelledAt cancelReason
      displayFinancialStatus currencyCode taxesIncluded note
      totalPriceSet { shopMoney { amount } }
      totalDiscountsSet { shopMoney { amount } }
      totalTaxSet { shopMoney { amount } }
      totalShippingPriceSet { shopMoney { amount } }
      totalOutstandingSet { shopMoney { amount } }
      shippingAddress { name firstName lastName company address1 address2 city zip province countryCodeV2 phone }
      lineItems(first: 30) { nodes { id sku name quantity originalUnitPriceSet { shopMoney { amount } } } }
    }
  }
}`;

type Money = { shopMoney: { amount: string } } | null;
interface OrderNode {
  id: string;
  legacyResourceId: string;
  name: string | null;
  email: string | null;
  createdAt: string;
  processedAt: string | null;
  updatedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
  displayFinancialStatus: string | null;
  currencyCode: string;
  taxesIncluded: boolean | null;
  note: string | null;
  totalPriceSet: Money;
  totalDiscountsSet: Money;
  totalTaxSet: Money;
  totalShippingPriceSet: Money;
  totalOutstandingSet: Money;
  shippingAddress: Record<string, string | null> | null;
  lineItems: {
    nodes: {
      id: string;
      sku: string | null;
      name: string | null;
      quantity: number;
      originalUnitPriceSet: Money;
    }[];
  };
}

const rest = (m: Money) => (m ? { shop_money: { amount: m.shopMoney.amount } } : null);

/** A GraphQL order in the shape of an orders/* webhook body (what the inbox's order handler reads). */
export function orderBody(o: OrderNode): Record<string, unknown> {
  const a = o.shippingAddress;
  return {
    id: o.legacyResourceId,
    admin_graphql_api_id: o.id,
    name: o.name,
    email: o.email,
    currency: o.currencyCode,
    created_at: o.createdAt,
    processed_at: o.processedAt,
    updated_at: o.updatedAt,
    cancelled_at: o.cancelledAt,
    cancel_reason: o.cancelReason?.toLowerCase() ?? null,
    financial_status: o.displayFinancialStatus?.toLowerCase() ?? null,
    taxes_included: o.taxesIncluded,
    note: o.note,
    total_price_set: rest(o.totalPriceSet),
    total_discounts_set: rest(o.totalDiscountsSet),
    total_tax_set: rest(o.totalTaxSet),
    total_shipping_price_set: rest(o.totalShippingPriceSet),
    total_outstanding: o.totalOutstandingSet?.shopMoney.amount ?? null,
    shipping_address: a
      ? {
          name: a.name,
          first_name: a.firstName,
          last_name: a.lastName,
          company: a.company,
          address1: a.address1,
          address2: a.address2,
          city: a.city,
          zip: a.zip,
          province: a.province,
          country_code: a.countryCodeV2,
          phone: a.phone,
        }
      : null,
    line_items: o.lineItems.nodes.map((l) => ({
      id: l.id.split("/").pop(),
      admin_graphql_api_id: l.id,
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      price_set: rest(l.originalUnitPriceSet),
    })),
  };
}

export interface OrdersReport {
  since: string;
  orders_seen: number;
  orders_missed: number;
  orders_outdated: number;
  orders_applied: number;
  orders_failed: number;
}

export async function reconcileOrders(
  db: DB,
  client: ShopifyClient,
  ch: ShopifyChannel,
  since: Date,
): Promise<OrdersReport> {
  const report: OrdersReport = {
    since: since.toISOString(),
    orders_seen: 0,
    orders_missed: 0,
    orders_outdated: 0,
    orders_applied: 0,
    orders_failed: 0,
  };
  const keys: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: {
      data: {
        orders: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: OrderNode[] };
      };
    } = await client.request(
      ORDERS,
      { after, query: `updated_at:>='${since.toISOString()}'` },
      { estimatedCost: 750 },
    );
    const page = r.data.orders;
    report.orders_seen += page.nodes.length;
    const known = new Map(
      (
        await db
          .selectFrom("channel_orders")
          .select(["external_id", "order_id", "last_triggered_at"])
          .where("channel_id", "=", ch.id)
          .where("external_id", "in", page.nodes.length ? page.nodes.map((n) => n.id) : [""])
          .execute()
      ).map((k) => [k.external_id, k]),
    );
    for (const o of page.nodes) {
      const k = known.get(o.id);
      const updated = new Date(o.updatedAt);
      if (k?.order_id && k.last_triggered_at && new Date(k.last_triggered_at) >= updated) continue;
      const key = `reconcile:${o.id}:${o.updatedAt}`;
      const res = await sql`
        insert into channel_inbox (channel_id, platform, topic, dedupe_key, triggered_at, headers, body)
        values (${ch.id}, 'shopify', ${k?.order_id ? "orders/updated" : "orders/create"}, ${key}, ${updated},
                ${JSON.stringify({ "x-keel-source": "reconcile" })}::jsonb, ${JSON.stringify(orderBody(o))})
        on conflict do nothing`.execute(db);
      if (Number(res.numAffectedRows ?? 0) === 0) continue; // found by an earlier reconcile
      keys.push(key);
      if (k?.order_id) report.orders_outdated++;
      else report.orders_missed++;
    }
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
    after = page.pageInfo.endCursor;
  }
  if (keys.length) {
    await processInbox(db, HANDLERS, 10_000, { channelId: ch.id, topics: ORDER_TOPICS });
    const st = await db
      .selectFrom("channel_inbox")
      .select("status")
      .where("channel_id", "=", ch.id)
      .where("dedupe_key", "in", keys)
      .execute();
    report.orders_applied = st.filter((s) => s.status === "done").length;
    report.orders_failed = st.filter((s) => s.status === "failed").length;
  }
  return report;
}

export interface LevelsReport {
  levels_checked: number;
  levels_drifted: number;
  levels_confirmed: number;
  levels_not_stocked: number;
  /** the first drifted levels, for the report */
  drift: { sku: string; location: string; shopify: number; keel: number }[];
}

export async function reconcileLevels(
  db: DB,
  client: ShopifyClient,
  ch: ShopifyChannel,
): Promise<LevelsReport> {
  await inTransaction(db, (tx) => enqueueTargets(tx, ch, "all"));
  const report: LevelsReport = {
    levels_checked: 0,
    levels_drifted: 0,
    levels_confirmed: 0,
    levels_not_stocked: 0,
    drift: [],
  };
  let afterSku = "";
  for (;;) {
    const rows = await db
      .selectFrom("shopify_stock_targets")
      .select([
        "sku",
        "location_code",
        "location_gid",
        "inventory_item_gid",
        "wanted",
        "confirmed",
        "confirmed_version",
      ])
      .where("channel_id", "=", ch.id)
      .where("state", "!=", "failed")
      .where("sku", ">", afterSku)
      .orderBy("sku")
      .orderBy("location_code")
      .limit(1000)
      .execute();
    if (rows.length === 0) break;
    // whole SKUs per slice (a SKU's locations stay together)
    const last = rows[rows.length - 1].sku;
    const slice = rows.length < 1000 ? rows : rows.filter((r) => r.sku !== last);
    const use = slice.length ? slice : rows;
    afterSku = use[use.length - 1].sku;
    const refs = use.map((r) => ({ inventoryItemId: r.inventory_item_gid, locationId: r.location_gid }));
    const read = await readAvailable(client, refs);
    report.levels_checked += use.length;
    const drifted: typeof use = [];
    const matched: typeof use = [];
    const values: number[] = [];
    const matchedValues: number[] = [];
    for (const r of use) {
      const remote = read.get(
        levelKey({ inventoryItemId: r.inventory_item_gid, locationId: r.location_gid }),
      );
      if (remote === undefined) {
        report.levels_not_stocked++;
        continue;
      }
      if (remote === r.wanted) {
        if (r.confirmed !== remote) {
          matched.push(r);
          matchedValues.push(remote);
        }
        continue;
      }
      drifted.push(r);
      values.push(remote);
      if (report.drift.length < 20)
        report.drift.push({ sku: r.sku, location: r.location_code, shopify: remote, keel: r.wanted });
    }
    await inTransaction(db, async (tx) => {
      const all = [...drifted, ...matched].sort((a, b) =>
        a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.location_code < b.location_code ? -1 : 1,
      );
      if (all.length === 0) return;
      await sql`select 1 from shopify_stock_targets where channel_id = ${ch.id} and (sku, location_code) in
          (select * from unnest(${all.map((r) => r.sku)}::text[], ${all.map((r) => r.location_code)}::text[]))
        order by sku, location_code for update`.execute(tx);
      // only rows nobody confirmed or leased since they were read (the sender may have pushed meanwhile)
      const set = (rs: typeof use, vs: number[], dirty: boolean) =>
        sql`update shopify_stock_targets t set confirmed = x.v, confirmed_version = t.confirmed_version + 1,
              state = ${dirty ? "dirty" : "clean"}, dirty_since = ${dirty ? sql`coalesce(t.dirty_since, now())` : null},
              next_attempt_at = now(), error = null, updated_at = now()
            from unnest(${rs.map((r) => r.sku)}::text[], ${rs.map((r) => r.location_code)}::text[],
                        ${vs}::int[], ${rs.map((r) => r.confirmed_version)}::int[], ${rs.map((r) => r.wanted)}::int[])
              as x(sku, loc, v, ver, wanted)
            where t.channel_id = ${ch.id} and t.sku = x.sku and t.location_code = x.loc
              and t.confirmed_version = x.ver and t.wanted = x.wanted
              and (t.leased_until is null or t.leased_until < now())`.execute(tx);
      if (drifted.length)
        report.levels_drifted += Number((await set(drifted, values, true)).numAffectedRows ?? 0);
      if (matched.length)
        report.levels_confirmed += Number((await set(matched, matchedValues, false)).numAffectedRows ?? 0);
    });
    if (rows.length < 1000) break;
  }
  return report;
}
