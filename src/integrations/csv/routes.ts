import type { Readable } from "node:stream";
import { z } from "zod";
import { type Permission, requires } from "../../access/permissions.js";
import type { App, AppDeps } from "../../http/app.js";
import { exportLevels, exportMovements, exportOrders, exportProducts } from "./exports.js";

const tags = ["csv"];
const instant = z.iso.datetime({ offset: true }).or(z.iso.date());
const code = z.string().min(1).max(64);

export async function csvRoutes(app: App, { reads }: AppDeps) {
  // exports read from the replica while it keeps up (docs/scaling.md)
  const download = <Q extends z.ZodType>(
    name: string,
    permission: Permission,
    summary: string,
    querystring: Q,
    open: (query: z.infer<Q>) => Readable,
  ) =>
    app.get(
      `/v1/exports/${name}.csv`,
      {
        schema: { security: requires(permission), tags, summary, querystring },
      },
      async (req, reply) =>
        reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="${name}.csv"`)
          .send(open(req.query as z.infer<Q>)),
    );

  download(
    "levels",
    "inventory:read",
    "Stock levels per SKU × location, streamed",
    z.strictObject({ location: code.optional() }),
    (q) => exportLevels(reads.db(), q),
  );
  download(
    "movements",
    "inventory:read",
    "The movement ledger, streamed in id order",
    z.strictObject({
      sku: code.optional(),
      location: code.optional(),
      from: instant.optional(),
      to: instant.optional(),
    }),
    (q) => exportMovements(reads.db(), q),
  );
  download(
    "orders",
    "order:read",
    "Order lines with their order's status, one row per line (prices as decimals)",
    z.strictObject({
      status: z.string().max(32).optional(),
      channel: code.optional(),
      from: instant.optional(),
      to: instant.optional(),
    }),
    (q) => exportOrders(reads.db(), q),
  );
  download(
    "products",
    "catalog:read",
    "The catalogue in Shopify's product CSV template, one row per variant",
    z.strictObject({}),
    () => exportProducts(reads.db()),
  );
}
