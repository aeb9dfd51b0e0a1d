import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { postEntry } from "./journal.js";
import { mulDiv } from "./money.js";
import { nextNumber } from "./numbering.js";
import { readFinanceSettings } from "./settings.js";

/**
 * A credit note for every refund of invoiced money, in the refund's
 * transaction (orders/payments.ts calls `creditRefund` after recording a
 * `refunded` payment). The refund is credited against the order's invoices,
 * newest first, each up to what is left of it; its tax is the invoice's
 * remaining tax in proportion, rounded half up (the last credit of an
 * invoice takes exactly what is left). A refund of money no invoice covers
 * yet (paid but not shipped) needs no credit note: it only moves the payment
 * back (the refund posting). The database refuses a credit note above its
 * invoice (trigger credit_notes_within_invoice).
 */
export async function creditRefund(
  tx: Tx,
  refund: { payment_id: number; order_id: number; amount: number; reference?: string | null },
): Promise<string[]> {
  const invoices = await sql<{
    id: number;
    number: string;
    currency: string;
    order_number: string;
    total: number;
    tax_total: number;
    credited: number;
    credited_tax: number;
  }>`
    select i.id, i.number, i.currency, o.number as order_number, i.total, i.tax_total,
      coalesce(sum(c.total), 0)::bigint as credited, coalesce(sum(c.tax_total), 0)::bigint as credited_tax
    from invoices i join orders o on o.id = i.order_id left join credit_notes c on c.invoice_id = i.id
    where i.order_id = ${refund.order_id}
    group by i.id, o.number order by i.id desc`.execute(tx);
  let left = refund.amount;
  const issued: string[] = [];
  const accounts = (await readFinanceSettings(tx)).accounts;
  for (const inv of invoices.rows) {
    if (left <= 0) break;
    const open = inv.total - inv.credited;
    if (open <= 0) continue;
    const total = Math.min(open, left);
    const openTax = inv.tax_total - inv.credited_tax;
    const tax = total === open ? openTax : Math.min(openTax, mulDiv(total, openTax, open));
    const { number, year, seq } = await nextNumber(tx, "credit_note");
    const cn = await sql<{ id: number }>`
      insert into credit_notes (number, year, seq, order_id, invoice_id, payment_id, currency, net_total, tax_total,
        total, reason)
      values (${number}, ${year}, ${seq}, ${refund.order_id}, ${inv.id}, ${refund.payment_id}, ${inv.currency},
        ${total - tax}, ${tax}, ${total}, ${refund.reference ?? null})
      returning id`.execute(tx);
    await postEntry(tx, accounts, {
      source_type: "credit_note",
      source_id: number,
      reference: inv.order_number,
      currency: inv.currency,
      description: `credit note ${number} on invoice ${inv.number}`,
      lines: [
        { role: "refunds", debit: total - tax },
        { role: "tax_payable", debit: tax },
        { role: "receivables", credit: total },
      ],
    });
    await emit(tx, [
      {
        type: "credit_note.issued",
        payload: { id: cn.rows[0].id, number, invoice: inv.number, order_id: refund.order_id, total },
      },
    ]);
    issued.push(number);
    left -= total;
  }
  return issued;
}

export interface CreditNoteView {
  id: number;
  number: string;
  order_id: number;
  invoice: string;
  payment_id: number;
  currency: string;
  net_total: number;
  tax_total: number;
  total: number;
  reason: string | null;
  issued_at: string;
}

export async function listCreditNotes(
  db: DB | Tx,
  q: { order_id?: number; after?: number; limit: number },
): Promise<CreditNoteView[]> {
  const r = await sql<CreditNoteView & { issued_at: Date }>`
    select c.id, c.number, c.order_id, i.number as invoice, c.payment_id, c.currency, c.net_total, c.tax_total,
      c.total, c.reason, c.issued_at
    from credit_notes c join invoices i on i.id = c.invoice_id
    where (${q.order_id ?? null}::bigint is null or c.order_id = ${q.order_id ?? null}) and c.id > ${q.after ?? 0}
    order by c.id limit ${q.limit}`.execute(db);
  return r.rows.map((x) => ({ ...x, issued_at: x.issued_at.toISOString() }));
}
