import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { listEvents } from "./outbox.js";

const Event = z.object({
  id: z.number(),
  type: z.string(),
  payload: z.unknown(),
  created_at: z.string(),
});

export async function eventRoutes(app: App, { db }: AppDeps) {
  app.get(
    "/v1/events",
    {
      schema: {
        tags: ["events"],
        summary: "The outbox as a feed",
        security: requires("events:read"),
        description:
          "Events in commit-safe order. Pass the id of the last event you processed as `after` to resume; an event that committed late is never skipped.",
        querystring: z.strictObject({
          after: z.coerce.number().int().min(0).default(0),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          type: z.string().max(500).optional().describe("comma-separated event types"),
        }),
        response: { 200: z.object({ data: z.array(Event), next_after: z.number().nullable() }) },
      },
    },
    async (req) => {
      const events = await listEvents(db, {
        after: req.query.after,
        limit: req.query.limit,
        types: req.query.type?.split(",").filter(Boolean),
      });
      return {
        data: events.map((e) => ({ ...e, created_at: e.created_at.toISOString() })),
        next_after: events.length ? events[events.length - 1].id : null,
      };
    },
  );
}
