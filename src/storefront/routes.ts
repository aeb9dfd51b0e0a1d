import fs from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { z } from "zod";
import { PUBLIC } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { demoPage } from "./demo.js";

const WIDGET = fs.readFileSync(path.join(import.meta.dirname, "widget.js"), "utf8");

/**
 * The storefront widget (`GET /storefront/widget.js`), a demo product page that shows it
 * (`GET /storefront-demo`).
 */
export async function storefrontRoutes(app: App, { db }: AppDeps) {
  // CORS for /v1/storefront/* is in src/http/hardening.ts (KEEL_STOREFRONT_ORIGINS), with the other headers
  app.get("/storefront/widget.js", { schema: { hide: true, security: PUBLIC } }, async (_req, reply) =>
    reply
      .type("text/javascript; charset=utf-8")
      .header("cache-control", "public, max-age=300")
      // a <script> on the shop's own domain loads it cross-origin
      .header("cross-origin-resource-policy", "cross-origin")
      .header("access-control-allow-origin", "*")
      .send(WIDGET),
  );

  app.get(
    "/storefront-demo",
    {
      schema: {
        hide: true,
        security: PUBLIC,
        querystring: z.strictObject({
          skus: z.string().max(2000).optional(),
          lang: z.enum(["en", "tr"]).optional(),
        }),
      },
    },
    async (req, reply) => {
      let skus = (req.query.skus ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (!skus.length) {
        // a sample: the first active variants with stock
        const rows = await sql<{ sku: string }>`
          select v.sku from variants v join products p on p.id = v.product_id
          where p.status = 'active' order by v.id limit 3`.execute(db);
        skus = rows.rows.map((r) => r.sku);
      }
      return reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .send(demoPage(skus, req.query.lang ?? "en"));
    },
  );
}
