import { readFileSync } from "node:fs";
import type { Field } from "./graphql-lite.js";

/**
 * Orders placed on the fake shop's storefront: the record the fake keeps, the Admin GraphQL
 * `Order` object the `orders` query shows, and the orders/* webhook body, built from Shopify's
 * sample payload (test/fixtures/shopify-order-webhook.json) with the order's own fields and ids
 * written as exact integers, as a real body carries them.
 */

export interface ShopOrder {
  gid: string;
  legacy: string;
  name: string;
  email: string;
  currency: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
  financial: "PAID" | "PENDING" | "AUTHORIZED" | "REFUNDED" | "VOIDED";
  lines: { id: string; sku: string; name: string; quantity: number; price: string }[];
  shipping: Record<string, string | null>;
}

/** An order as the Admin GraphQL `Order` object shows it (the fields Keel asks for). */
export function orderNode(o: ShopOrder): Record<string, unknown> {
  const total = o.lines.reduce((a, l) => a + Number(l.price) * l.quantity, 0).toFixed(2);
  const money = (amount: string) => ({ shopMoney: { amount, currencyCode: o.currency } });
  return {
    id: o.gid,
    legacyResourceId: o.legacy,
    name: o.name,
    email: o.email,
    createdAt: o.createdAt,
    processedAt: o.createdAt,
    updatedAt: o.updatedAt,
    cancelledAt: o.cancelledAt,
    cancelReason: o.cancelReason,
    displayFinancialStatus: o.financial,
    currencyCode: o.currency,
    taxesIncluded: false,
    note: null,
    totalPriceSet: money(total),
    totalDiscountsSet: money("0.00"),
    totalTaxSet: money("0.00"),
    totalShippingPriceSet: money("0.00"),
    totalOutstandingSet: money("0.00"),
    shippingAddress: o.shipping,
    lineItems: {
      nodes: o.lines.map((l) => ({
        id: l.id,
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        originalUnitPriceSet: money(l.price),
      })),
    },
  };
}

/** Selects fields from plain nested data (objects and lists), refusing fields the object lacks. */
export function deep(fields: Field[], v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => deep(fields, x));
  if (v === null || typeof v !== "object" || fields.length === 0) return v;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.name === "__typename") continue;
    if (!(f.name in v)) throw new GraphQLError(`Field '${f.name}' doesn't exist`, "undefinedField");
    out[f.alias] = deep(f.selections ?? [], (v as Record<string, unknown>)[f.name]);
  }
  return out;
}

/** The orders/* webhook body of an order: the fixture's, with the order's own fields. */
export function orderWebhookBody(o: ShopOrder): string {
  const fixture = JSON.parse(
    readFileSync(new URL("../fixtures/shopify-order-webhook.json", import.meta.url), "utf8"),
  );
  const total = o.lines.reduce((a, l) => a + Number(l.price) * l.quantity, 0).toFixed(2);
  const money = (amount: string) => ({
    shop_money: { amount, currency_code: o.currency },
    presentment_money: { amount, currency_code: o.currency },
  });
  const body = {
    ...fixture,
    id: "__ID__",
    admin_graphql_api_id: o.gid,
    name: o.name,
    email: o.email,
    contact_email: o.email,
    currency: o.currency,
    presentment_currency: o.currency,
    created_at: o.createdAt,
    processed_at: o.createdAt,
    updated_at: o.updatedAt,
    cancelled_at: o.cancelledAt,
    cancel_reason: o.cancelReason?.toLowerCase() ?? null,
    financial_status: o.financial.toLowerCase(),
    location_id: null,
    total_price: total,
    total_price_set: money(total),
    total_outstanding: "0.00",
    total_discounts: "0.00",
    total_discounts_set: money("0.00"),
    total_tax: "0.00",
    total_tax_set: money("0.00"),
    total_shipping_price_set: money("0.00"),
    shipping_address: { ...fixture.shipping_address, country_code: o.shipping.countryCodeV2 },
    line_items: o.lines.map((l, i) => ({
      ...fixture.line_items[0],
      id: `__LINE${i}__`,
      admin_graphql_api_id: l.id,
      sku: l.sku,
      name: l.name,
      title: l.name,
      quantity: l.quantity,
      price: l.price,
      price_set: money(l.price),
    })),
  };
  // the numeric ids as a real body carries them: exact integers, not doubles
  let text = JSON.stringify(body).replace('"__ID__"', o.legacy);
  o.lines.forEach((l, i) => {
    text = text.replace(`"__LINE${i}__"`, l.id.split("/").pop()!);
  });
  return text;
}

/** An error the fake answers in `errors[]` with `extensions.code`, as Shopify does. */
export class GraphQLError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
