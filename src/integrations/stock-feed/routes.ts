import { z } from "zod";
import { requires } from "../../access/permissions.js";
import type { App, AppDeps } from "../../http/app.js";
import { actorOf } from "../../http/auth.js";
import { write } from "../../http/idempotency.js";
import { applyStockFeed } from "./feed.js";

const tags = ["integrations"];

const FeedBody = z.strictObject({
  source: z.string().min(1).max(100),
  as_of: z.iso.datetime({ offset: true }),
  levels: z
    .array(
      z.strictObject({
        sku: z.string().min(1).max(64),
        location: z.string().min(1).max(64),
        on_hand: z.number().int().min(0).max(1_000_000_000),
      }),
    )
    .min(1),
});

const FeedReply = z.object({
  applied: z.number().int(),
  unchanged: z.number().int(),
  stale: z.number().int(),
  unknown: z.array(z.object({ sku: z.string(), location: z.string(), reason: z.string() })),
  short: z.array(
    z.object({
      sku: z.string(),
      location: z.string(),
      requested: z.number().int(),
      on_hand: z.number().int(),
      committed: z.number().int(),
    }),
  ),
});

export async function stockFeedRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/integrations/stock",
    {
      schema: {
        tags,
        summary: "Absolute on-hand per SKU × location from an ERP or WMS (at most 5,000 levels per batch)",
        security: requires("inventory:sync"),
        body: FeedBody,
        response: { 200: FeedReply },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await applyStockFeed(tx, req.body, actorOf(req)),
      })),
  );
}
