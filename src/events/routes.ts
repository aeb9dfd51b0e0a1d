import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { listEvents } from "./outbox.js";
import { resumePoint, serveStream } from "./stream.js";

const Event = z.object({
  id: z.number(),
  type: z.string(),
  payload: z.unknown(),
  created_at: z.string(),
});

export async function eventRoutes(app: App, { db, feed, heartbeatMs }: AppDeps) {
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

  app.get(
    "/v1/events/stream",
    {
      schema: {
        tags: ["events"],
        summary: "The outbox as Server-Sent Events",
        security: requires("events:read"),
        description:
          "Each event as `id: <event id>`, `event: <type>`, `data: {id,type,created_at,data}`, in commit-safe order. " +
          "Resumes after `Last-Event-ID` (what EventSource sends on reconnect) or `?after=`; without either it starts " +
          "from now, `after=0` replays the whole outbox. A comment line every 15 s keeps proxies from closing it. " +
          "An unknown event id is a 404 before the stream starts.",
        querystring: z.strictObject({
          after: z.coerce.number().int().min(0).optional(),
          types: z
            .string()
            .max(500)
            .optional()
            .describe("comma-separated event types, exact (`order.placed`) or by prefix (`order.*`)"),
        }),
        response: {
          200: z.string().describe("text/event-stream"),
          404: z.unknown().describe("problem+json: the event to resume after does not exist"),
        },
      },
    },
    async (req, reply) => {
      const after = await resumePoint(db, req.headers["last-event-id"], req.query.after);
      const types = req.query.types
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      serveStream(req, reply, { db, feed, after, types, heartbeatMs });
    },
  );
}
