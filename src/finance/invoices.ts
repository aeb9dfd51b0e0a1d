import { type RawBuilder, sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { NotFound } from "../http/errors.js";
import { postEntry } from "./journal.js";
import { nextNumber } from "./numbering.js";
import { readFinanceSettings } from "./settings.js";
import { type ChargedItem, orderTax, partOf, readTaxSettings } from "./tax.js";

/**
 * An invoice per shipment: what the fulfilment shipped, at the order's
 * prices, with the shipping charge (and any digital lines, which never
 * ship) on the order's first invoice. Issued in
 * the shipment's transaction (fulfilments.ts calls `invoiceShipment` right
 * after the units leave the ledger), numbered from the counter row, posted
 * to the journal in the same transaction, immutable afterwards.
 */

interface OrderRow {
  id: number;
  number: string;
  currency: string;
  customer_email: string;
  customer_name: string | null;
  shipping_address: Record<string, string>;
  billing_address: Record<string, string> | null;
  discount_total: number;
  shipping_total: number;
  tax_total: number;
}

interface LineRow {
  id: number;
  line_no: number;
  sku: string;
  kind: "physical" | "digital" | "bundle";
  title: string | null;
  quantity: number;
  unit_price: number;
  tax_class: string;
  /** line units invoiced before this shipment */
  invoiced: number;
  /** line units this fulfilment shipped */
  shipping: number;
}

export interface InvoiceLine {
  line_no: number;
  kind: "item" | "shipping";
  order_line_id: number | null;
  sku: string | null;
  title: string | null;
  quantity: number;
  unit_price: number;
  amount: number;
  discount: number;
  net: number;
  tax_class: string;
  rate_bp: number;
  tax: number;
  total: number;
}

function taxSummary(lines: InvoiceLine[]) {
  const by = new Map<number, { rate_bp: number; net: number; tax: number }>();
  for (const l of lines) {
    const t = by.get(l.rate_bp) ?? { rate_bp: l.rate_bp, net: 0, tax: 0 };
    t.net += l.net;
    t.tax += l.tax;
    by.set(l.rate_bp, t);
  }
  return [...by.values()].sort((a, b) => a.rate_bp - b.rate_bp);
}

/** Issues the invoice of a shipped fulfilment; the order must be locked by the caller. Returns its number. */
export async function invoiceShipment(tx: Tx, fulfilmentId: number): Promise<string | null> {
  const existing = await sql<{ number: string }>`
    select number from invoices where fulfillment_id = ${fulfilmentId}`.execute(tx);
  if (existing.rows[0]) return existing.rows[0].number;
  const order = (
    await sql<OrderRow>`
      select o.id, o.number, o.currency, o.customer_email, o.customer_name, o.shipping_address, o.billing_address,
        o.discount_total, o.shipping_total, o.tax_total
      from fulfillments f join orders o on o.id = f.order_id where f.id = ${fulfilmentId}`.execute(tx)
  ).rows[0];
  if (!order) throw new NotFound("fulfillment", fulfilmentId);
  const lines = (
    await sql<LineRow>`
      select l.id, l.line_no, l.sku, l.kind, l.title, l.quantity - l.cancelled as quantity, l.unit_price, v.tax_class,
        coalesce((select sum(il.quantity) from invoice_lines il where il.order_line_id = l.id), 0)::int as invoiced,
        coalesce((select sum(fl.quantity / a.per_unit) from fulfillment_lines fl
          join order_allocations a on a.id = fl.allocation_id
          where fl.fulfillment_id = ${fulfilmentId} and a.line_id = l.id and a.counts_units), 0)::int as shipping
      from order_lines l join variants v on v.id = l.variant_id
      where l.order_id = ${order.id} and l.quantity > l.cancelled order by l.line_no`.execute(tx)
  ).rows;
  const shippingInvoiced = await sql<{ n: number }>`
    select count(*)::int as n from invoice_lines il join invoices i on i.id = il.invoice_id
    where i.order_id = ${order.id} and il.kind = 'shipping'`.execute(tx);
  const [tax, finance] = [await readTaxSettings(tx), await readFinanceSettings(tx)];
  const charged = orderTax(
    {
      country: (order.billing_address ?? order.shipping_address).country ?? order.shipping_address.country,
      discount_total: order.discount_total,
      shipping_total: order.shipping_total,
      tax_total: order.tax_total,
      lines: lines.map((l) => ({
        id: l.id,
        quantity: l.quantity,
        unit_price: l.unit_price,
        tax_class: l.tax_class,
      })),
    },
    tax,
  );
  const items = new Map<number | "shipping", ChargedItem>(charged.items.map((i) => [i.id, i]));
  const out: InvoiceLine[] = [];
  for (const l of lines) {
    // digital lines never ship: they go on the first invoice whole
    const units = l.kind === "digital" ? l.quantity - l.invoiced : l.shipping;
    if (units <= 0) continue;
    const to = Math.min(l.quantity, l.invoiced + units);
    if (to <= l.invoiced) continue;
    const p = partOf(items.get(l.id)!, l.invoiced, to, charged.prices_include_tax);
    out.push({
      line_no: out.length + 1,
      kind: "item",
      order_line_id: l.id,
      sku: l.sku,
      title: l.title,
      quantity: p.quantity,
      unit_price: l.unit_price,
      amount: p.amount,
      discount: p.discount,
      net: p.net,
      tax_class: p.tax_class,
      rate_bp: p.rate_bp,
      tax: p.tax,
      total: p.total,
    });
  }
  const ship = items.get("shipping");
  if (ship && shippingInvoiced.rows[0].n === 0 && out.length > 0) {
    out.push({
      line_no: out.length + 1,
      kind: "shipping",
      order_line_id: null,
      sku: null,
      title: "Shipping",
      quantity: 1,
      unit_price: ship.amount,
      amount: ship.amount,
      discount: ship.discount,
      net: ship.net,
      tax_class: ship.tax_class,
      rate_bp: ship.rate_bp,
      tax: ship.tax,
      total: ship.total,
    });
  }
  if (out.length === 0) return null;
  const sum = (f: (l: InvoiceLine) => number, kind?: InvoiceLine["kind"]) =>
    out.filter((l) => !kind || l.kind === kind).reduce((s, l) => s + f(l), 0);
  const { number, year, seq } = await nextNumber(tx, "invoice");
  const address = order.billing_address ?? order.shipping_address;
  const buyer = {
    name: order.customer_name ?? address.name ?? null,
    email: order.customer_email,
    address,
    shipping_address: order.shipping_address,
  };
  const inv = await sql<{ id: number }>`
    insert into invoices (number, year, seq, order_id, fulfillment_id, currency, prices_include_tax, tax_source,
      seller, buyer, subtotal, discount_total, shipping_total, net_total, tax_total, total, taxes)
    values (${number}, ${year}, ${seq}, ${order.id}, ${fulfilmentId}, ${order.currency}, ${charged.prices_include_tax},
      ${charged.source}, ${JSON.stringify(finance.seller)}::jsonb, ${JSON.stringify(buyer)}::jsonb,
      ${sum((l) => l.amount, "item")}, ${sum((l) => l.discount)}, ${sum((l) => l.amount, "shipping")},
      ${sum((l) => l.net)}, ${sum((l) => l.tax)}, ${sum((l) => l.total)}, ${JSON.stringify(taxSummary(out))}::jsonb)
    returning id`.execute(tx);
  const invoiceId = inv.rows[0].id;
  const col = <K extends keyof InvoiceLine>(k: K) => out.map((l) => l[k]);
  await sql`
    insert into invoice_lines (invoice_id, line_no, kind, order_line_id, sku, title, quantity, unit_price, amount,
      discount, net, tax_class, rate_bp, tax, total)
    select ${invoiceId}, * from unnest(${col("line_no")}::int[], ${col("kind")}::text[], ${col("order_line_id")}::bigint[],
      ${col("sku")}::text[], ${col("title")}::text[], ${col("quantity")}::int[], ${col("unit_price")}::bigint[],
      ${col("amount")}::bigint[], ${col("discount")}::bigint[], ${col("net")}::bigint[], ${col("tax_class")}::text[],
      ${col("rate_bp")}::int[], ${col("tax")}::bigint[], ${col("total")}::bigint[])`.execute(tx);
  await postEntry(tx, finance.accounts, {
    source_type: "invoice",
    source_id: number,
    reference: order.number,
    currency: order.currency,
    description: `invoice ${number} for order ${order.number}`,
    lines: [
      { role: "receivables", debit: sum((l) => l.total) },
      { role: "revenue", credit: sum((l) => l.net, "item") },
      { role: "shipping_revenue", credit: sum((l) => l.net, "shipping") },
      { role: "tax_payable", credit: sum((l) => l.tax) },
    ],
  });
  await emit(tx, [
    {
      type: "invoice.issued",
      payload: { number, order_id: order.id, fulfillment_id: fulfilmentId, total: sum((l) => l.total) },
    },
  ]);
  return number;
}

export interface InvoiceView {
  id: number;
  number: string;
  order_id: number;
  order_number: string;
  fulfillment_id: number;
  currency: string;
  prices_include_tax: boolean;
  tax_source: string;
  seller: Record<string, unknown>;
  buyer: Record<string, unknown>;
  subtotal: number;
  discount_total: number;
  shipping_total: number;
  net_total: number;
  tax_total: number;
  total: number;
  credited: number;
  taxes: { rate_bp: number; net: number; tax: number }[];
  lines: InvoiceLine[];
  issued_at: string;
}

async function invoiceViews(db: DB | Tx, where: RawBuilder<unknown>, limit = 1): Promise<InvoiceView[]> {
  const r = await sql<InvoiceView & { issued_at: Date }>`
    select i.id, i.number, i.order_id, o.number as order_number, i.fulfillment_id, i.currency, i.prices_include_tax,
      i.tax_source, i.seller, i.buyer, i.subtotal, i.discount_total, i.shipping_total, i.net_total, i.tax_total,
      i.total, i.taxes, i.issued_at,
      coalesce((select sum(c.total) from credit_notes c where c.invoice_id = i.id), 0)::bigint as credited,
      (select json_agg(json_build_object('line_no', l.line_no, 'kind', l.kind, 'order_line_id', l.order_line_id,
         'sku', l.sku, 'title', l.title, 'quantity', l.quantity, 'unit_price', l.unit_price, 'amount', l.amount,
         'discount', l.discount, 'net', l.net, 'tax_class', l.tax_class, 'rate_bp', l.rate_bp, 'tax', l.tax,
         'total', l.total) order by l.line_no) from invoice_lines l where l.invoice_id = i.id) as lines
    from invoices i join orders o on o.id = i.order_id
    where ${where} order by i.id limit ${limit}`.execute(db);
  return r.rows.map((x) => ({ ...x, issued_at: x.issued_at.toISOString() }));
}

export async function getInvoice(db: DB | Tx, number: string): Promise<InvoiceView> {
  const [v] = await invoiceViews(db, sql`i.number = ${number}`);
  if (!v) throw new NotFound("invoice", number);
  return v;
}

export async function listInvoices(
  db: DB | Tx,
  q: { order_id?: number; after?: number; limit: number },
): Promise<InvoiceView[]> {
  return invoiceViews(
    db,
    sql`(${q.order_id ?? null}::bigint is null or i.order_id = ${q.order_id ?? null}) and i.id > ${q.after ?? 0}`,
    q.limit,
  );
}
