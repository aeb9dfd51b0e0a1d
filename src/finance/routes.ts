import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { decodeCursor, encodeCursor } from "../http/pagination.js";
import { listCreditNotes } from "./credit-notes.js";
import { getInvoice, listInvoices } from "./invoices.js";
import { journalCsv, readJournal } from "./journal.js";
import { invoicePdf } from "./pdf.js";
import {
  FinanceSettings,
  FinanceSettingsPatch,
  readFinanceSettings,
  writeFinanceSettings,
} from "./settings.js";
import { readTaxSettings, TaxSettings, writeTaxSettings } from "./tax.js";

const tags = ["finance"];
const instant = z.iso.datetime({ offset: true }).or(z.iso.date());
const limit = z.coerce.number().int().min(1).max(500).default(100);
const cursor = z.string().max(200).optional();
const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const page = <T extends { id: number }>(rows: T[], n: number) => ({
  data: rows,
  next_cursor: rows.length === n ? encodeCursor(rows[rows.length - 1].id) : null,
});

export async function financeRoutes(app: App, { db }: AppDeps) {
  app.get(
    "/v1/settings/tax",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "Tax rates per country and tax class, and whether prices include tax",
        response: { 200: TaxSettings },
      },
    },
    async () => readTaxSettings(db),
  );
  app.put(
    "/v1/settings/tax",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "Replace the tax settings (rates in basis points, 0..5000)",
        body: TaxSettings,
        response: { 200: TaxSettings },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 200, body: await writeTaxSettings(tx, req.body) })),
  );
  app.get(
    "/v1/settings/finance",
    {
      schema: {
        security: requires("settings:read"),
        tags,
        summary: "The seller printed on invoices and the journal's chart of accounts",
        response: { 200: FinanceSettings },
      },
    },
    async () => readFinanceSettings(db),
  );
  app.put(
    "/v1/settings/finance",
    {
      schema: {
        security: requires("settings:write"),
        tags,
        summary: "Change the seller details or account codes (what is left out stays)",
        body: FinanceSettingsPatch,
        response: { 200: FinanceSettings },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 200, body: await writeFinanceSettings(tx, req.body) })),
  );

  app.get(
    "/v1/invoices",
    {
      schema: {
        security: requires("finance:read"),
        tags,
        summary: "Invoices, one per shipment, oldest first",
        querystring: z.strictObject({ order_id: z.coerce.number().int().min(1).optional(), limit, cursor }),
      },
    },
    async (req) => {
      const q = req.query;
      const rows = await listInvoices(db, {
        order_id: q.order_id,
        after: decodeCursor(q.cursor, isId),
        limit: q.limit,
      });
      return page(rows, q.limit);
    },
  );
  app.get(
    "/v1/invoices/:number",
    {
      schema: {
        security: requires("finance:read"),
        tags,
        summary: "One invoice as JSON, or as a PDF with `Accept: application/pdf`",
        params: z.strictObject({ number: z.string().regex(/^INV-\d{4}-\d{6,}$/, "an invoice number") }),
      },
    },
    async (req, reply) => {
      const inv = await getInvoice(db, req.params.number);
      if ((req.headers.accept ?? "").includes("application/pdf")) {
        return reply
          .type("application/pdf")
          .header("content-disposition", `inline; filename="${inv.number}.pdf"`)
          .send(await invoicePdf(inv));
      }
      return inv;
    },
  );
  app.get(
    "/v1/credit-notes",
    {
      schema: {
        security: requires("finance:read"),
        tags,
        summary: "Credit notes, one per refund and invoice it credits, oldest first",
        querystring: z.strictObject({ order_id: z.coerce.number().int().min(1).optional(), limit, cursor }),
      },
    },
    async (req) => {
      const q = req.query;
      const rows = await listCreditNotes(db, {
        order_id: q.order_id,
        after: decodeCursor(q.cursor, isId),
        limit: q.limit,
      });
      return page(rows, q.limit);
    },
  );
  app.get(
    "/v1/journal",
    {
      schema: {
        security: requires("finance:read"),
        tags,
        summary: "Journal lines posted in [from, to): JSON pages, or the whole range as CSV",
        querystring: z.strictObject({
          from: instant.optional(),
          to: instant.optional(),
          format: z.enum(["json", "csv"]).default("json"),
          limit: z.coerce.number().int().min(1).max(5000).default(1000),
          cursor,
        }),
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.format === "csv") {
        const rows = await readJournal(db, { from: q.from, to: q.to, limit: 1_000_000 });
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", 'attachment; filename="journal.csv"')
          .send(journalCsv(rows));
      }
      const after = decodeCursor(q.cursor, isId);
      // whole entries per page: read one entry's lines past the limit and cut at the last entry boundary
      const rows = await readJournal(db, { from: q.from, to: q.to, limit: q.limit + 1, after });
      let data = rows.slice(0, q.limit);
      let next: string | null = null;
      if (rows.length > q.limit) {
        const lastEntry = data[data.length - 1].entry_id;
        const cut =
          rows[q.limit].entry_id === lastEntry ? data.filter((r) => r.entry_id !== lastEntry) : data;
        data = cut.length ? cut : data;
        next = encodeCursor(data[data.length - 1].entry_id);
      }
      return { data, next_cursor: next };
    },
  );
}
