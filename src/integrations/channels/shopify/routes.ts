import { z } from "zod";
import { requires } from "../../../access/permissions.js";
import type { App, AppDeps } from "../../../http/app.js";
import { NotFound } from "../../../http/errors.js";
import { write } from "../../../http/idempotency.js";
import { getSyncJob, requestSync } from "./sync-jobs.js";

const tags = ["channels"];
const Params = z.strictObject({ code: z.string().min(1).max(64) });

const Job = z.object({
  id: z.number().int(),
  channel: z.string(),
  what: z.enum(["products", "inventory", "orders", "reconcile"]),
  full: z.boolean(),
  status: z.enum(["queued", "running", "done", "failed"]),
  progress: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});

export async function shopifyRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/channels/:code/sync",
    {
      schema: {
        tags,
        summary:
          "Start a sync with the channel's shop: import its products (SKU → inventory item) or push inventory",
        description:
          "Answers 202 with the job; poll GET /v1/channels/{code}/sync/{id}. `inventory` recomputes every mapped SKU × location from the stock policy; `full: true` first ingests the orders of the last 25 hours a lost webhook missed, then sets every level again outright, repairing whatever drifted on the shop. `orders` ingests the orders the shop changed in the last 25 hours (`full`: 30 days) that Keel missed. `reconcile` (what the daily job runs) does those orders, then reads every level from the shop and sets back what drifted. The job's `progress` reports what was found and changed. WooCommerce channels take inventory, orders and reconcile.",
        security: requires("integrations:manage"),
        params: Params,
        body: z.strictObject({
          what: z.enum(["inventory", "products", "orders", "reconcile"]),
          full: z.boolean().optional(),
        }),
        response: { 202: z.object({ job: Job }) },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        return {
          status: 202,
          body: { job: await requestSync(tx, req.params.code, req.body.what, req.body.full ?? false) },
        };
      }),
  );

  app.get(
    "/v1/channels/:code/sync/:id",
    {
      schema: {
        tags,
        summary: "A sync job: status and progress",
        security: requires("integrations:read"),
        params: z.strictObject({ code: z.string().min(1).max(64), id: z.coerce.number().int().positive() }),
        response: { 200: Job },
      },
    },
    async (req) => {
      const job = await getSyncJob(db, req.params.code, req.params.id);
      if (!job) throw new NotFound("sync job", String(req.params.id));
      return job;
    },
  );
}
