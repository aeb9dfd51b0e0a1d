import PDFDocument from "pdfkit";
import type { InvoiceView } from "./invoices.js";

/** Minor units as a decimal amount with the currency, e.g. 1999 EUR → "19.99 EUR". */
function money(minor: number, currency: string): string {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")} ${currency}`;
}

const percent = (bp: number) => `${(bp / 100).toFixed(bp % 100 === 0 ? 0 : 2)} %`;

/** The invoice as a one-document PDF: seller, buyer, lines, tax per rate, totals. */
export function invoicePdf(inv: InvoiceView): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: "A4", margin: 50, info: { Title: `Invoice ${inv.number}` } });
    const chunks: Buffer[] = [];
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
    const seller = inv.seller as { name?: string; address?: string[]; vat_id?: string; email?: string };
    const buyer = inv.buyer as { name?: string | null; email?: string; address?: Record<string, string> };
    doc.fontSize(10).text([seller.name, ...(seller.address ?? [])].filter(Boolean).join("\n"));
    if (seller.vat_id) doc.text(`VAT ID: ${seller.vat_id}`);
    if (seller.email) doc.text(seller.email);
    doc.moveDown();
    const a = buyer.address ?? {};
    doc.text(
      [buyer.name, a.company, a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(" "), a.country]
        .filter(Boolean)
        .join("\n"),
    );
    doc.moveDown();
    doc.fontSize(16).text(`Invoice ${inv.number}`);
    doc
      .fontSize(10)
      .text(`Date: ${inv.issued_at.slice(0, 10)}    Order: ${inv.order_number}    Currency: ${inv.currency}`);
    doc.moveDown();
    for (const l of inv.lines) {
      const what =
        l.kind === "shipping" ? "Shipping" : `${l.quantity} × ${l.sku}${l.title ? ` ${l.title}` : ""}`;
      const discount = l.discount ? `, discount ${money(-l.discount, inv.currency)}` : "";
      doc.text(
        `${what}  ${money(l.amount, inv.currency)}${discount}  tax ${percent(l.rate_bp)} ${money(l.tax, inv.currency)}  = ${money(l.total, inv.currency)}`,
      );
    }
    doc.moveDown();
    for (const t of inv.taxes) {
      doc.text(`Tax ${percent(t.rate_bp)} on ${money(t.net, inv.currency)}: ${money(t.tax, inv.currency)}`);
    }
    doc.text(`Net: ${money(inv.net_total, inv.currency)}`);
    doc.text(`Tax: ${money(inv.tax_total, inv.currency)}`);
    doc.fontSize(12).text(`Total: ${money(inv.total, inv.currency)}`);
    if (inv.prices_include_tax) doc.fontSize(9).text("Prices include tax.");
    doc.end();
  });
}
