import { z } from "zod";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";
import { mulDiv, spread } from "./money.js";

/**
 * Tax: rates per country and tax class (basis points: 1900 = 19 %), kept
 * under the `tax` key of the settings table; prices are entered net or gross.
 *
 * The rounding rule (docs/finance.md): tax is computed per line, on the
 * line's amount after its share of the order's discount, rounded half up to
 * the minor unit; a document for part of a line takes the cumulative share
 * (what the first k units are worth, rounded half up, minus what the units
 * before them were), so the invoices of an order add up to exactly what it
 * charged.
 */

export const TaxClass = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, "lower case letters, digits and _");

export const TaxSettings = z.strictObject({
  prices_include_tax: z.boolean().describe("true: unit prices are gross (tax included)"),
  rates: z
    .array(
      z.strictObject({
        country: z.string().regex(/^[A-Z]{2}$/, "an ISO 3166 alpha-2 code such as DE"),
        tax_class: TaxClass,
        rate_bp: z.number().describe("basis points, a whole number 0..5000: 1900 is 19 %"),
      }),
    )
    .max(2000),
});
export type TaxSettings = z.infer<typeof TaxSettings>;

export const DEFAULT_TAX_SETTINGS: TaxSettings = { prices_include_tax: false, rates: [] };

/**
 * Rates are whole basis points from 0 to 5000 (50 %: no country taxes more),
 * and each (country, class) pair has one rate: a second would make the first meaningless.
 */
export function checkTaxSettings(s: TaxSettings): void {
  const seen = new Map<string, number>();
  const issues = s.rates.flatMap((r, i) => {
    if (!Number.isInteger(r.rate_bp) || r.rate_bp < 0 || r.rate_bp > 5000) {
      return [
        { path: `body.rates.${i}.rate_bp`, message: "must be a whole number of basis points, 0..5000" },
      ];
    }
    const k = `${r.country}/${r.tax_class}`;
    const first = seen.get(k);
    seen.set(k, first ?? i);
    return first === undefined
      ? []
      : [{ path: `body.rates.${i}`, message: `${k} already has a rate (rates.${first})` }];
  });
  if (issues.length) throw new ValidationFailed(issues);
}

export async function readTaxSettings(db: DB | Tx): Promise<TaxSettings> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", "tax").executeTakeFirst();
  return { ...DEFAULT_TAX_SETTINGS, ...((row?.value as Partial<TaxSettings>) ?? {}) };
}

export async function writeTaxSettings(tx: Tx, value: TaxSettings): Promise<TaxSettings> {
  checkTaxSettings(value);
  await tx
    .insertInto("settings")
    .values({ key: "tax", value: JSON.stringify(value) })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({ value: JSON.stringify(value), updated_at: new Date() }),
    )
    .execute();
  return value;
}

/** The rate for a class in a country; shipping uses class `shipping` when set, else `standard`. */
export function rateOf(s: TaxSettings, country: string, taxClass: string): number {
  const find = (c: string) => s.rates.find((r) => r.country === country && r.tax_class === c)?.rate_bp;
  return find(taxClass) ?? (taxClass === "shipping" ? (find("standard") ?? 0) : 0);
}

export interface TaxableOrder {
  country: string;
  discount_total: number;
  shipping_total: number;
  tax_total: number;
  lines: { id: number; quantity: number; unit_price: number; tax_class: string }[];
}

/** One taxable item of an order (a line, or shipping) as the whole order charges it. */
export interface ChargedItem {
  id: number | "shipping";
  tax_class: string;
  rate_bp: number;
  quantity: number;
  amount: number;
  discount: number;
  net: number;
  tax: number;
  total: number;
}

export interface OrderTax {
  source: "order" | "rates" | "none";
  prices_include_tax: boolean;
  items: ChargedItem[];
}

/**
 * What each line and the shipping charge of the whole order come to. The
 * order's discount is spread over lines and shipping by value (largest
 * remainder). Then, per item:
 * - the order carries tax (`tax_total` > 0, a channel's tax lines or the
 *   client's): that tax is kept, spread over the items in proportion to the
 *   tax the shop's rates give them (by value when no rate applies);
 * - prices are gross: the tax inside each item is extracted,
 *   tax = gross − round_half_up(gross × 10000 / (10000 + rate));
 * - otherwise there is no tax on the order.
 * In every case Σ total = lines − discount + shipping + tax = what the order charged.
 */
/** The order's lines and shipping with their share of the discount (largest remainder by value) and rate. */
function discounted(o: TaxableOrder, s: TaxSettings) {
  const base = [
    ...o.lines.map((l) => ({
      id: l.id as number | "shipping",
      tax_class: l.tax_class,
      quantity: l.quantity,
      amount: l.quantity * l.unit_price,
    })),
    ...(o.shipping_total > 0
      ? [{ id: "shipping" as const, tax_class: "shipping", quantity: 1, amount: o.shipping_total }]
      : []),
  ];
  const discounts = spread(
    o.discount_total,
    base.map((b) => b.amount),
  );
  return base.map((b, i) => ({
    ...b,
    discount: discounts[i],
    rate_bp: rateOf(s, o.country, b.tax_class),
    after: b.amount - discounts[i],
  }));
}

export function orderTax(o: TaxableOrder, s: TaxSettings): OrderTax {
  const withRates = discounted(o, s);
  if (o.tax_total > 0) {
    const weights = withRates.map((b) => mulDiv(Math.max(0, b.after), b.rate_bp, 10_000));
    const taxes = spread(
      o.tax_total,
      weights.some((w) => w > 0) ? weights : withRates.map((b) => Math.max(0, b.after)),
    );
    return {
      source: "order",
      prices_include_tax: false,
      items: withRates.map((b, i) => ({
        id: b.id,
        tax_class: b.tax_class,
        rate_bp: b.rate_bp,
        quantity: b.quantity,
        amount: b.amount,
        discount: b.discount,
        net: b.after,
        tax: taxes[i],
        total: b.after + taxes[i],
      })),
    };
  }
  if (s.prices_include_tax && withRates.some((b) => b.rate_bp > 0)) {
    return {
      source: "rates",
      prices_include_tax: true,
      items: withRates.map((b) => {
        const gross = b.after;
        const tax = gross > 0 ? gross - mulDiv(gross, 10_000, 10_000 + b.rate_bp) : 0;
        return {
          id: b.id,
          tax_class: b.tax_class,
          rate_bp: b.rate_bp,
          quantity: b.quantity,
          amount: b.amount,
          discount: b.discount,
          net: gross - tax,
          tax,
          total: gross,
        };
      }),
    };
  }
  return {
    source: "none",
    prices_include_tax: s.prices_include_tax,
    items: withRates.map((b) => ({
      id: b.id,
      tax_class: b.tax_class,
      rate_bp: 0,
      quantity: b.quantity,
      amount: b.amount,
      discount: b.discount,
      net: b.after,
      tax: 0,
      total: b.after,
    })),
  };
}

/**
 * The part of a charged item that units (from, to] of it make up: each
 * figure is the cumulative share round_half_up(x × to / Q) minus
 * round_half_up(x × from / Q), so the parts of all units add up to x.
 */
export function partOf(item: ChargedItem, from: number, to: number, gross: boolean): ChargedItem {
  const q = item.quantity;
  const part = (x: number) => mulDiv(x, to, q) - mulDiv(x, from, q);
  const amount = part(item.amount);
  const discount = part(item.discount);
  const tax = part(item.tax);
  // gross: what the units charged is amount − discount, the tax inside it; net: the tax comes on top
  const total = gross ? amount - discount : amount - discount + tax;
  return { ...item, quantity: to - from, amount, discount, tax, total, net: total - tax };
}

/**
 * The tax Keel adds to an order placed without `tax_total` in a shop whose
 * prices are net: per line and shipping, round_half_up(net × rate / 10000)
 * after the discount's share, summed. Undefined when Keel adds none (gross
 * prices, or no rate for the order's country).
 */
export function placementTax(
  o: Omit<TaxableOrder, "tax_total" | "lines"> & {
    lines: { sku: string; quantity: number; unit_price: number }[];
  },
  classes: Record<string, string>,
  s: TaxSettings | null,
): number | undefined {
  if (!s || s.prices_include_tax || !s.rates.some((r) => r.country === o.country)) return undefined;
  const items = discounted(
    {
      ...o,
      tax_total: 0,
      lines: o.lines.map((l, i) => ({ ...l, id: i + 1, tax_class: classes[l.sku] ?? "standard" })),
    },
    s,
  );
  return items.reduce((sum, i) => sum + mulDiv(Math.max(0, i.after), i.rate_bp, 10_000), 0);
}
