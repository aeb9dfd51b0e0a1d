import { z } from "zod";
import type { Tx } from "../../../db/tx.js";
import type { Channel } from "../../../orders/channels.js";
import { readOrder } from "../../../orders/core.js";
import { shopifySettings } from "../config.js";
import { type Applied, DeliveryNotReady, type InboxRow } from "../inbox.js";
import { applyChannelFulfillment, applyChannelRefund } from "../inbox-aftersale.js";
import { currencyExponent, idText, MalformedPayload, minorUnits, parseKeepingIds } from "../inbox-json.js";
import { applyChannelOrder, type ChannelOrder, linkedOrder } from "../inbox-orders.js";

/**
 * Shopify webhook bodies → the common order model. The order is keyed on its
 * GID (`admin_graphql_api_id`); refunds and fulfilments name it by its numeric
 * id, which is read from the raw body as text (a JSON number would round it).
 * Money is in the shop's currency (`shop_money`), in its minor units.
 */

export const SHOPIFY_ACTOR = "channel:shopify";

const Id = z.union([z.string(), z.number()]);
const Amount = z.union([z.string(), z.number()]);
const MoneySet = z.looseObject({ shop_money: z.looseObject({ amount: Amount }) }).nullish();
const Text = z.string().nullish();

const ShopifyAddress = z
  .looseObject({
    name: Text,
    first_name: Text,
    last_name: Text,
    company: Text,
    address1: Text,
    address2: Text,
    city: Text,
    zip: Text,
    province: Text,
    country_code: Text,
    phone: Text,
  })
  .nullish();

const ShopifyOrder = z.looseObject({
  id: Id,
  admin_graphql_api_id: z.string().regex(/^gid:\/\/shopify\/Order\/\d+$/, "an order GID"),
  name: Text,
  currency: z.string().regex(/^[A-Z]{3}$/),
  email: Text,
  contact_email: Text,
  phone: Text,
  created_at: Text,
  processed_at: Text,
  updated_at: Text,
  cancelled_at: Text,
  cancel_reason: Text,
  financial_status: Text,
  taxes_included: z.boolean().nullish(),
  note: Text,
  location_id: Id.nullish(),
  total_price: Amount.nullish(),
  total_price_set: MoneySet,
  total_outstanding: Amount.nullish(),
  total_discounts: Amount.nullish(),
  total_discounts_set: MoneySet,
  total_tax: Amount.nullish(),
  total_tax_set: MoneySet,
  total_shipping_price_set: MoneySet,
  customer: z.looseObject({ email: Text, first_name: Text, last_name: Text, phone: Text }).nullish(),
  shipping_address: ShopifyAddress,
  billing_address: ShopifyAddress,
  line_items: z
    .array(
      z.looseObject({
        id: Id,
        admin_graphql_api_id: Text,
        sku: Text,
        name: Text,
        title: Text,
        quantity: z.number().int().min(0),
        price: Amount.nullish(),
        price_set: MoneySet,
      }),
    )
    .min(1),
});

function parse<T>(schema: z.ZodType<T>, row: InboxRow): T {
  let body: unknown;
  try {
    body = parseKeepingIds(row.body);
  } catch (err) {
    throw new MalformedPayload(`the body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new MalformedPayload(
      `not a Shopify ${row.topic} body: ${parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
        .join("; ")}`,
    );
  }
  return parsed.data;
}

const clean = (v: string | null | undefined, max: number) => {
  const t = v?.trim();
  return t ? t.slice(0, max) : undefined;
};

function address(a: z.infer<typeof ShopifyAddress>): Record<string, string | undefined> | null {
  if (!a?.country_code) return null;
  const name = clean(a.name, 200) ?? clean([a.first_name, a.last_name].filter(Boolean).join(" "), 200);
  const out: Record<string, string | undefined> = {
    name,
    company: clean(a.company, 200),
    line1: clean(a.address1, 300),
    line2: clean(a.address2, 300),
    city: clean(a.city, 200),
    postal_code: clean(a.zip, 32),
    province: clean(a.province, 100),
    country: a.country_code.toUpperCase(),
    phone: clean(a.phone, 50),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

const shop = (set: z.infer<typeof MoneySet>, plain: unknown) => set?.shop_money.amount ?? plain ?? "0";

/** A Shopify order body as the common order model sees it. */
export function shopifyOrder(
  o: z.infer<typeof ShopifyOrder>,
  channel: Channel,
  triggeredAt: Date | null,
): ChannelOrder {
  const exp = currencyExponent(o.currency);
  const money = (set: z.infer<typeof MoneySet>, plain: unknown) => minorUnits(shop(set, plain), exp);
  const total = money(o.total_price_set, o.total_price);
  const outstanding = o.total_outstanding == null ? 0 : minorUnits(o.total_outstanding, exp);
  const status = o.financial_status ?? "pending";
  const payment = { authorized: 0, paid: 0, voided: false, failed: false };
  if (status === "authorized") payment.authorized = total;
  else if (status === "partially_paid") payment.paid = Math.max(0, total - outstanding);
  else if (["paid", "partially_refunded", "refunded"].includes(status)) payment.paid = total;
  else if (status === "voided" || status === "expired") {
    payment.authorized = total;
    payment.voided = true;
  }
  const holds: ChannelOrder["holds"] = [];
  const locationId = idText(o.location_id);
  if (locationId) {
    const gid = `gid://shopify/Location/${locationId}`;
    const mapped = Object.values(shopifySettings(channel.config).locations).includes(gid);
    if (!mapped)
      holds.push({
        code: "stock",
        detail: `sold at Shopify location ${gid}, which is not mapped to a Keel location (config.locations)`,
      });
  }
  const name = clean([o.customer?.first_name, o.customer?.last_name].filter(Boolean).join(" "), 200);
  return {
    externalId: o.admin_graphql_api_id,
    remoteId: idText(o.id),
    triggeredAt: triggeredAt ?? (o.updated_at ? new Date(o.updated_at) : null),
    number: o.name ?? undefined,
    currency: o.currency,
    lines: o.line_items
      .filter((l) => l.quantity > 0)
      .map((l) => ({
        sku: clean(l.sku, 64) ?? null,
        quantity: l.quantity,
        unitPrice: money(l.price_set, l.price),
        title: clean(l.name ?? l.title, 500),
        ref: l.admin_graphql_api_id ?? String(l.id),
      })),
    customer: {
      email: clean(o.email, 320) ?? clean(o.contact_email, 320) ?? clean(o.customer?.email, 320) ?? null,
      name,
      phone: clean(o.phone ?? o.customer?.phone, 50),
    },
    shippingAddress: address(o.shipping_address),
    billingAddress: address(o.billing_address),
    discountTotal: money(o.total_discounts_set, o.total_discounts),
    shippingTotal: money(o.total_shipping_price_set, "0"),
    // with taxes included in the prices, the tax is part of the line amounts already
    taxTotal: o.taxes_included ? 0 : money(o.total_tax_set, o.total_tax),
    placedAt: o.processed_at ?? o.created_at ?? undefined,
    note: clean(`Shopify ${o.name ?? o.admin_graphql_api_id}${o.note ? `: ${o.note}` : ""}`, 2000),
    payment,
    cancelled: o.cancelled_at
      ? { reason: `cancelled on Shopify (${o.cancel_reason ?? "no reason given"})` }
      : null,
    holds,
  };
}

const ShopifyRefund = z.looseObject({
  id: Id,
  admin_graphql_api_id: Text,
  order_id: Id,
  note: Text,
  refund_line_items: z
    .array(
      z.looseObject({
        quantity: z.number().int().min(0),
        restock_type: Text,
        line_item: z.looseObject({ sku: Text }).nullish(),
      }),
    )
    .default([]),
  transactions: z
    .array(z.looseObject({ kind: Text, status: Text, amount: Amount.nullish(), currency: Text }))
    .default([]),
});

const ShopifyFulfillment = z.looseObject({
  id: Id,
  admin_graphql_api_id: Text,
  order_id: Id,
  status: Text,
  tracking_company: Text,
  tracking_number: Text,
  tracking_url: Text,
  line_items: z.array(z.looseObject({ sku: Text, quantity: z.number().int().min(0) })).default([]),
});

const ShopifyInventoryLevel = z.looseObject({
  inventory_item_id: Id,
  location_id: Id,
  available: z.number().int().nullish(),
  updated_at: Text,
  admin_graphql_api_id: Text,
});

/**
 * The item id as Shopify's GID names it (`gid://shopify/InventoryLevel/<location>?inventory_item_id=<item>`):
 * exact even where a copy of the body went through a double and rounded the numeric field.
 */
function levelItemId(l: z.infer<typeof ShopifyInventoryLevel>): string {
  const m = /[?&]inventory_item_id=(\d+)/.exec(l.admin_graphql_api_id ?? "");
  return m ? m[1] : String(idText(l.inventory_item_id));
}

async function orderOf(tx: Tx, channel: Channel, remoteOrderId: string, what: string): Promise<number> {
  const orderId = await linkedOrder(tx, channel.id, {
    externalId: `gid://shopify/Order/${remoteOrderId}`,
    remoteId: remoteOrderId,
  });
  if (orderId === null) {
    throw new DeliveryNotReady(
      `${what} for Shopify order ${remoteOrderId}, which Keel has not received yet; waiting for it`,
    );
  }
  return orderId;
}

export async function applyShopifyOrder(tx: Tx, channel: Channel, row: InboxRow): Promise<Applied> {
  const o = parse(ShopifyOrder, row);
  return applyChannelOrder(tx, channel, shopifyOrder(o, channel, row.triggered_at), SHOPIFY_ACTOR);
}

export async function applyShopifyRefund(tx: Tx, channel: Channel, row: InboxRow): Promise<Applied> {
  const r = parse(ShopifyRefund, row);
  const remoteOrder = idText(r.order_id)!;
  const orderId = await orderOf(tx, channel, remoteOrder, "a refund");
  const order = await readOrder(tx, orderId);
  const exp = currencyExponent(order.currency);
  const amount = r.transactions
    .filter((t) => t.kind === "refund" && (t.status ?? "success") === "success")
    .reduce((s, t) => s + minorUnits(t.amount ?? "0", exp), 0);
  return applyChannelRefund(
    tx,
    channel,
    {
      externalId: r.admin_graphql_api_id ?? `gid://shopify/Refund/${idText(r.id)}`,
      orderId,
      amount,
      lines: r.refund_line_items.map((l) => ({
        sku: clean(l.line_item?.sku, 64) ?? null,
        quantity: l.quantity,
        restock: l.restock_type ?? "no_restock",
      })),
      note: r.note ?? null,
    },
    SHOPIFY_ACTOR,
  );
}

export async function applyShopifyFulfillment(tx: Tx, channel: Channel, row: InboxRow): Promise<Applied> {
  const f = parse(ShopifyFulfillment, row);
  const orderId = await orderOf(tx, channel, idText(f.order_id)!, "a fulfilment");
  return applyChannelFulfillment(
    tx,
    channel,
    {
      externalId: f.admin_graphql_api_id ?? `gid://shopify/Fulfillment/${idText(f.id)}`,
      orderId,
      status: f.status ?? null,
      carrier: clean(f.tracking_company, 100) ?? null,
      trackingNumber: clean(f.tracking_number, 200) ?? null,
      trackingUrl: clean(f.tracking_url, 500) ?? null,
      lines: f.line_items.map((l) => ({ sku: clean(l.sku, 64) ?? null, quantity: l.quantity })),
    },
    SHOPIFY_ACTOR,
  );
}

export interface ShopifyLevel {
  channel: Channel;
  inventoryItemId: string;
  locationId: string;
  available: number | null;
  updatedAt: Date | null;
  /** The Keel location the Shopify location is mapped to; null when unmapped. */
  keelLocation: string | null;
}

/** What the stock-push side does with a level the shop reported (e.g. recognise its own echo); runs in the delivery's transaction. */
export type LevelHook = (tx: Tx, level: ShopifyLevel) => Promise<Record<string, unknown> | undefined>;

/**
 * inventory_levels/update: the newest level per item and location is kept in
 * channel_inventory_levels, marked pending for the stock-push side (an older
 * report changes nothing), then handed to `hook` when one is given.
 */
export function inventoryLevelHandler(hook?: LevelHook) {
  return async (tx: Tx, channel: Channel, row: InboxRow): Promise<Applied> => {
    const l = parse(ShopifyInventoryLevel, row);
    const level: ShopifyLevel = {
      channel,
      inventoryItemId: `gid://shopify/InventoryItem/${levelItemId(l)}`,
      locationId: `gid://shopify/Location/${idText(l.location_id)}`,
      available: l.available ?? null,
      updatedAt: l.updated_at ? new Date(l.updated_at) : row.triggered_at,
      keelLocation: null,
    };
    const mapped = Object.entries(shopifySettings(channel.config).locations).find(
      ([, gid]) => gid === level.locationId,
    );
    level.keelLocation = mapped?.[0] ?? null;
    const res = await tx
      .insertInto("channel_inventory_levels")
      .values({
        channel_id: channel.id,
        inventory_item_id: level.inventoryItemId,
        location_id: level.locationId,
        available: level.available,
        remote_updated_at: level.updatedAt,
      })
      .onConflict((oc) =>
        oc
          .columns(["channel_id", "inventory_item_id", "location_id"])
          .doUpdateSet((eb) => ({
            available: eb.ref("excluded.available"),
            remote_updated_at: eb.ref("excluded.remote_updated_at"),
            pending: true,
            received_at: new Date(),
          }))
          .where((eb) =>
            eb.or([
              eb("channel_inventory_levels.remote_updated_at", "is", null),
              eb("excluded.remote_updated_at", "is", null),
              eb("channel_inventory_levels.remote_updated_at", "<=", eb.ref("excluded.remote_updated_at")),
            ]),
          ),
      )
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) {
      return { status: "stale", outcome: { item: level.inventoryItemId, location: level.locationId } };
    }
    const extra = hook ? await hook(tx, level) : undefined;
    return {
      status: "done",
      outcome: {
        item: level.inventoryItemId,
        location: level.locationId,
        keel_location: level.keelLocation,
        available: level.available,
        ...extra,
      },
    };
  };
}
