import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { dashboard } from "./dashboard.js";
import { backorders, cancellations, cycleTime, fillRate, orderAging, orderStatus } from "./orders.js";
import { ChannelCode, format, LocationCode, period, periodQuery, type Report, send } from "./report.js";
import { returnsReport, salesRanking } from "./sales.js";
import { agedInventory, criticalStock, stockoutRisk, stockValuation } from "./stock.js";
import { supplierPerformance } from "./suppliers.js";

const tags = ["reports"];
const Row = z.object({ drill: z.string() }).catchall(z.unknown());
const Answer = z.object({ data: z.array(Row), computed_at: z.string(), source: z.enum(["live", "rollup"]) });

export async function reportRoutes(app: App, { reads }: AppDeps) {
  // every report and the dashboard read from the replica while it keeps up (docs/scaling.md)
  const db = () => reads.db();
  const get = <Q extends z.ZodRawShape>(
    name: string,
    summary: string,
    description: string,
    query: Q,
    run: (q: z.infer<z.ZodObject<Q>>) => Promise<Report<{ drill: string }>>,
  ) =>
    app.get(
      `/v1/reports/${name}`,
      {
        schema: {
          security: requires("reports:read"),
          tags,
          summary,
          description: `${description} With \`format=csv\`, the rows as CSV.`,
          querystring: z.strictObject({ ...query, ...format }),
          response: { 200: Answer },
        },
      },
      async (req, reply) => {
        const { format: fmt, ...q } = req.query as { format: "json" | "csv" } & Record<string, unknown>;
        return send(reply, name, fmt, await run(q as z.infer<z.ZodObject<Q>>));
      },
    );

  get(
    "order-status",
    "Orders per status and hold reason, with the oldest one's age",
    "Counted now from the orders (live).",
    {},
    () => orderStatus(db()),
  );
  get(
    "order-aging",
    "Open orders per status and age bucket, with how many are past their SLA",
    "Age from placement; buckets 0-24h, 24-48h, 2-3d, 3-7d, 7d+.",
    {},
    () => orderAging(db()),
  );
  get(
    "critical-stock",
    "SKUs at or below their low-stock threshold, or with fewer days of cover than the lead time",
    "With the replenishment suggestion's quantity and supplier. All active locations when `location` is left out.",
    { location: LocationCode.optional() },
    (q) => criticalStock(db(), q),
  );
  get(
    "sales-ranking",
    "Best or least sellers by shipped units, revenue or margin over a period",
    "From the sales rollup (shipments, a few seconds behind). Whole UTC days [from, to); the last 30 days by default.",
    {
      ...periodQuery,
      by: z.enum(["units", "revenue", "margin"]).default("units"),
      order: z.enum(["best", "least"]).default("best"),
      limit: z.coerce.number().int().min(1).max(1000).default(20),
      channel: ChannelCode.optional(),
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/)
        .optional(),
    },
    (q) => salesRanking(db(), period(q), q),
  );
  get(
    "returns",
    "Returned units and return rates by reason, SKU or channel over a period",
    "Returns requested in [from, to) (rejected ones left out) over units shipped in the period.",
    { ...periodQuery, by: z.enum(["reason", "sku", "channel"]).default("reason") },
    (q) => returnsReport(db(), period(q), q.by),
  );
  get(
    "cancellations",
    "Cancellations and cancellation rates by reason or channel over a period",
    "Over orders placed in [from, to).",
    { ...periodQuery, by: z.enum(["reason", "channel"]).default("reason") },
    (q) => cancellations(db(), period(q), q.by),
  );
  get(
    "fill-rate",
    "Unit and order fill rate of orders placed in a period, per channel",
    "Rates over orders that are done (shipped, completed or cancelled).",
    { ...periodQuery, channel: ChannelCode.optional() },
    (q) => fillRate(db(), period(q), q),
  );
  get(
    "cycle-time",
    "Hours from placement to shipment (mean, p50, p90) per channel and overall",
    "Orders placed in [from, to) that have shipped in full.",
    { ...periodQuery, channel: ChannelCode.optional() },
    (q) => cycleTime(db(), period(q), q),
  );
  get(
    "backorders",
    "Backordered units per SKU with the expected recovery date from open purchase orders",
    "Recovery: the earliest expected date of an open purchase order line for the SKU.",
    {},
    () => backorders(db()),
  );
  get(
    "supplier-performance",
    "On-time rate and lead time (mean, deviation) per supplier over receipts in a period",
    "Receipts booked in [from, to); the last 90 days by default.",
    { ...periodQuery },
    (q) => supplierPerformance(db(), period(q, 90)),
  );
  get(
    "aged-inventory",
    "Units and value on hand per location by arrival age (first in, first out)",
    "Buckets 0-30, 31-60, 61-90, 91-180, 181-365 and 365+ days.",
    { location: LocationCode.optional() },
    (q) => agedInventory(db(), q),
  );
  get(
    "stock-valuation",
    "Stock value at moving-average cost per location and currency",
    "Units on hand and held aside (quarantine, damaged, awaiting inspection).",
    { location: LocationCode.optional() },
    (q) => stockValuation(db(), q),
  );
  get(
    "stockout-risk",
    "SKUs whose forecast demand over the lead time exceeds available + incoming",
    "With the shortfall and the probability of a stock-out before a new order arrives.",
    { location: LocationCode.optional() },
    (q) => stockoutRisk(db(), q),
  );

  app.get(
    "/v1/dashboard",
    {
      schema: {
        security: requires("reports:read"),
        tags,
        summary:
          "The admin app's first page: queues, today's orders, fill rate, exceptions, stock, integrations",
        response: {
          200: z.object({ computed_at: z.string(), source: z.literal("live") }).catchall(z.unknown()),
        },
      },
    },
    async () => dashboard(db()),
  );
}
