import { z } from "zod";
import { requires } from "../../access/permissions.js";
import type { App, AppDeps } from "../../http/app.js";
import { write } from "../../http/idempotency.js";
import { Problem } from "../../orders/view-schema.js";
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listDeliveries,
  listSubscriptions,
  replayDelivery,
  replayRange,
} from "./subscriptions.js";

const tags = ["webhooks"];
const problems = { 400: Problem, 404: Problem, 422: Problem };

const Subscription = z.object({
  id: z.number(),
  url: z.string(),
  events: z.array(z.string()),
  status: z.enum(["active", "failing"]),
  created_at: z.string(),
});
const Delivery = z.object({
  id: z.number(),
  subscription_id: z.number(),
  event_id: z.number(),
  event_type: z.string(),
  status: z.enum(["pending", "delivered", "dead"]),
  attempt: z.number(),
  status_code: z.number().nullable(),
  latency_ms: z.number().nullable(),
  error: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  replay_of: z.number().nullable(),
  created_at: z.string(),
});

const EventFilter = z
  .string()
  .max(200)
  .regex(/^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$/, "an event type (order.placed) or a prefix (order.*)");
const CreateBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "an http(s) URL" }).max(2000),
  events: z.array(EventFilter).min(1).max(100),
  secret: z.string().min(16).max(200).optional().describe("generated (32 random bytes, hex) when left out"),
});
const IdParams = z.strictObject({ id: z.coerce.number().int().positive() });

export async function webhookRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/webhook-subscriptions",
    {
      schema: {
        tags,
        summary: "Subscribe a URL to events",
        description:
          "Events are matched by exact type or `prefix.*`. The reply carries the signing secret; it is never shown again. Only events committed after the subscription are delivered.",
        security: requires("integrations:manage"),
        body: CreateBody,
        response: { 201: Subscription.extend({ secret: z.string() }), ...problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await createSubscription(tx, req.body) })),
  );

  app.get(
    "/v1/webhook-subscriptions",
    {
      schema: {
        tags,
        summary: "Webhook subscriptions",
        security: requires("integrations:read"),
        response: { 200: z.object({ data: z.array(Subscription), next_cursor: z.null() }) },
      },
    },
    async () => ({ data: await listSubscriptions(db), next_cursor: null }),
  );

  app.get(
    "/v1/webhook-subscriptions/:id",
    {
      schema: {
        tags,
        summary: "One webhook subscription (without its secret)",
        security: requires("integrations:read"),
        params: IdParams,
        response: { 200: Subscription, ...problems },
      },
    },
    async (req) => getSubscription(db, req.params.id),
  );

  app.delete(
    "/v1/webhook-subscriptions/:id",
    {
      schema: {
        tags,
        summary: "Delete a webhook subscription and its delivery log",
        security: requires("integrations:manage"),
        params: IdParams,
        response: { 204: z.null(), ...problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        await deleteSubscription(tx, req.params.id);
        return { status: 204, body: null };
      }),
  );

  app.get(
    "/v1/webhook-subscriptions/:id/deliveries",
    {
      schema: {
        tags,
        summary: "A subscription's delivery log, newest first",
        description:
          "Each delivery's last attempt: status code, latency, attempt number, error, next attempt.",
        security: requires("integrations:read"),
        params: IdParams,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.coerce.number().int().positive().optional(),
          status: z.enum(["pending", "delivered", "dead"]).optional(),
        }),
        response: {
          200: z.object({ data: z.array(Delivery), next_cursor: z.string().nullable() }),
          ...problems,
        },
      },
    },
    async (req) => listDeliveries(db, req.params.id, req.query),
  );

  app.post(
    "/v1/webhook-subscriptions/:id/replay",
    {
      schema: {
        tags,
        summary: "Send a time range of a subscription's events again",
        description:
          "Queues a new delivery for every event of this subscription committed in [from, to), in event order, after what is already pending. At most 10,000 per call.",
        security: requires("integrations:manage"),
        params: IdParams,
        body: z.strictObject({
          from: z.iso.datetime({ offset: true }),
          to: z.iso.datetime({ offset: true }),
        }),
        response: {
          202: z.object({
            replayed: z.number().int(),
            first_event_id: z.number().nullable(),
            last_event_id: z.number().nullable(),
          }),
          ...problems,
        },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 202,
        body: await replayRange(tx, req.params.id, req.body),
      })),
  );

  app.post(
    "/v1/webhook-deliveries/:id/replay",
    {
      schema: {
        tags,
        summary: "Send a delivery's event again",
        description:
          "Queues a new delivery of the same event to the same subscription, after what is already pending.",
        security: requires("integrations:manage"),
        params: IdParams,
        response: { 201: Delivery, ...problems },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await replayDelivery(tx, req.params.id) })),
  );
}
