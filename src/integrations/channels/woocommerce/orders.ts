import { z } from "zod";
import type { Tx } from "../../../db/tx.js";
import type { Channel } from "../../../orders/channels.js";
import type { Applied, InboxRow } from "../inbox.js";
import { applyChannelRefund } from "../inbox-aftersale.js";
import { currencyExponent, idText, MalformedPayload, minorUnits, parseKeepingIds } from "../inbox-json.js";
import { applyChannelOrder, type ChannelOrder } from "../inbox-orders.js";

/**
 * WooCommerce order webhooks (the body is the order as GET /wc/v3/orders/{id}
 * returns it) → the common order model. Statuses, as Keel reads them:
 *
 * | WooCommerce | Keel |
 * |---|---|
 * | pending    | placed, payment pending |
 * | processing | placed, paid |
 * | on-hold    | placed, on hold (payment: awaiting confirmation) |
 * | completed  | placed, paid; noted on the timeline (Keel ships what Keel holds) |
 * | cancelled  | cancelled with the reason "cancelled on WooCommerce" |
 * | refunded   | paid, and each refund in `refunds` recorded once |
 * | failed     | placed, payment failed |
 * | trash      | ignored (nothing changes) |
 */

export const WOO_ACTOR = "channel:woocommerce";

const Text = z.string().nullish();
const Amount = z.union([z.string(), z.number()]);
const WooAddress = z
  .looseObject({
    first_name: Text,
    last_name: Text,
    company: Text,
    address_1: Text,
    address_2: Text,
    city: Text,
    state: Text,
    postcode: Text,
    country: Text,
    email: Text,
    phone: Text,
  })
  .nullish();

const WooOrder = z.looseObject({
  id: z.union([z.number(), z.string()]),
  number: z.union([z.string(), z.number()]).nullish(),
  status: z.string(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  date_created_gmt: Text,
  date_modified_gmt: Text,
  discount_total: Amount.nullish(),
  shipping_total: Amount.nullish(),
  total: Amount,
  total_tax: Amount.nullish(),
  customer_note: Text,
  billing: WooAddress,
  shipping: WooAddress,
  line_items: z
    .array(
      z.looseObject({
        id: z.union([z.number(), z.string()]),
        name: Text,
        sku: Text,
        quantity: z.number().int().min(0),
        subtotal: Amount,
      }),
    )
    .min(1),
  refunds: z
    .array(z.looseObject({ id: z.union([z.number(), z.string()]), reason: Text, total: Amount }))
    .default([]),
});

const clean = (v: string | null | undefined, max: number) => {
  const t = v?.trim();
  return t ? t.slice(0, max) : undefined;
};

const gmt = (v: string | null | undefined) => (v ? new Date(/[zZ]$/.test(v) ? v : `${v}Z`) : null);

function address(a: z.infer<typeof WooAddress>): Record<string, string | undefined> | null {
  const country = clean(a?.country, 2)?.toUpperCase();
  if (!a || !country) return null;
  const out: Record<string, string | undefined> = {
    name: clean([a.first_name, a.last_name].filter(Boolean).join(" "), 200),
    company: clean(a.company, 200),
    line1: clean(a.address_1, 300),
    line2: clean(a.address_2, 300),
    city: clean(a.city, 200),
    postal_code: clean(a.postcode, 32),
    province: clean(a.state, 100),
    country,
    phone: clean(a.phone, 50),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export function wooOrder(o: z.infer<typeof WooOrder>, triggeredAt: Date | null): ChannelOrder {
  const exp = currencyExponent(o.currency);
  const money = (v: unknown) => (v == null || v === "" ? 0 : minorUnits(v, exp));
  const total = money(o.total);
  const status = o.status;
  const payment = { authorized: 0, paid: 0, voided: false, failed: status === "failed" };
  if (["processing", "completed", "refunded"].includes(status)) payment.paid = total;
  const number = idText(o.number) ?? idText(o.id)!;
  return {
    externalId: idText(o.id)!,
    remoteId: null,
    triggeredAt: triggeredAt ?? gmt(o.date_modified_gmt),
    number: `#${number}`,
    currency: o.currency,
    lines: o.line_items
      .filter((l) => l.quantity > 0)
      .map((l) => ({
        sku: clean(l.sku, 64) ?? null,
        quantity: l.quantity,
        unitPrice: Math.round(money(l.subtotal) / l.quantity),
        title: clean(l.name, 500),
        ref: String(l.id),
      })),
    customer: {
      email: clean(o.billing?.email, 320) ?? null,
      name: clean([o.billing?.first_name, o.billing?.last_name].filter(Boolean).join(" "), 200),
      phone: clean(o.billing?.phone, 50),
    },
    shippingAddress: address(o.shipping),
    billingAddress: address(o.billing),
    discountTotal: money(o.discount_total),
    shippingTotal: money(o.shipping_total),
    taxTotal: money(o.total_tax),
    placedAt: gmt(o.date_created_gmt)?.toISOString(),
    note: clean(`WooCommerce #${number}${o.customer_note ? `: ${o.customer_note}` : ""}`, 2000),
    payment,
    cancelled: status === "cancelled" ? { reason: "cancelled on WooCommerce" } : null,
    holds:
      status === "on-hold"
        ? [{ code: "payment", detail: "on-hold on WooCommerce: awaiting payment confirmation" }]
        : [],
    remark: status === "completed" ? "completed on WooCommerce" : undefined,
  };
}

export async function applyWooOrder(tx: Tx, channel: Channel, row: InboxRow): Promise<Applied> {
  let body: unknown;
  try {
    body = parseKeepingIds(row.body);
  } catch (err) {
    throw new MalformedPayload(`the body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = WooOrder.safeParse(body);
  if (!parsed.success) {
    throw new MalformedPayload(
      `not a WooCommerce order: ${parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
        .join("; ")}`,
    );
  }
  const o = parsed.data;
  if (o.status === "trash") return { status: "ignored", outcome: { reason: "order in the trash" } };
  const applied = await applyChannelOrder(tx, channel, wooOrder(o, row.triggered_at), WOO_ACTOR);
  if (applied.status !== "done") return applied;
  const orderId = applied.outcome?.order_id as number;
  const exp = currencyExponent(o.currency);
  const refunds: string[] = [];
  for (const r of o.refunds) {
    const res = await applyChannelRefund(
      tx,
      channel,
      {
        externalId: `refund:${idText(r.id)}`,
        orderId,
        amount: Math.abs(minorUnits(r.total, exp)),
        lines: [],
        note: r.reason ?? null,
      },
      WOO_ACTOR,
    );
    if (res.status === "done") refunds.push(`refund:${idText(r.id)}`);
  }
  return { status: "done", outcome: { ...applied.outcome, refunds } };
}
