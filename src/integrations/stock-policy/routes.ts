import { z } from "zod";
import { requires } from "../../access/permissions.js";
import type { App, AppDeps } from "../../http/app.js";
import { write } from "../../http/idempotency.js";
import { getStockPolicy, putStockPolicy } from "./policy.js";

const tags = ["integrations"];

const Params = z.strictObject({ code: z.string().min(1).max(64) });

const PolicyBody = z.strictObject({
  locations: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
  buffer: z.number().int().min(0).max(1_000_000_000).optional(),
  share_percent: z.number().int().min(1).max(100).optional(),
  max: z.number().int().min(0).max(1_000_000_000).optional(),
});

const Policy = z.object({
  channel: z.string(),
  locations: z.array(z.string()).nullable().describe("null: every active location"),
  buffer: z.number().int(),
  share_percent: z.number().int(),
  max: z.number().int().nullable(),
});

export async function stockPolicyRoutes(app: App, { db }: AppDeps) {
  app.put(
    "/v1/channels/:code/stock-policy",
    {
      schema: {
        tags,
        summary:
          "Set what a channel is offered: floor((Σ available over its locations − buffer) × share_percent / 100), capped at max, never below 0",
        security: requires("integrations:manage"),
        params: Params,
        body: PolicyBody,
        response: { 200: Policy },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: { channel: req.params.code, ...(await putStockPolicy(tx, req.params.code, req.body)) },
      })),
  );

  app.get(
    "/v1/channels/:code/stock-policy",
    {
      schema: {
        tags,
        summary: "A channel's stock policy (defaults when none was set)",
        security: requires("integrations:read"),
        params: Params,
        response: { 200: Policy },
      },
    },
    async (req) => ({ channel: req.params.code, ...(await getStockPolicy(db, req.params.code)) }),
  );
}
