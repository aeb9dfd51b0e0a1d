import { z } from "zod";
import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { actorOf } from "../http/auth.js";
import { write } from "../http/idempotency.js";
import { pageQuery } from "../http/pagination.js";
import { acknowledgeAlert, listAlerts } from "./alerts.js";
import { createTarget, listTargets } from "./targets.js";

const tags = ["alerts"];
const KINDS = [
  "low_stock",
  "out_of_stock",
  "order_overdue",
  "integration_failing",
  "receipt_late",
  "anomaly",
  "ledger_drift",
] as const;
const Target = z.object({
  id: z.number(),
  kind: z.enum(["webhook", "slack", "email"]),
  target: z.string(),
  alert_kinds: z.array(z.string()),
  digest_minutes: z.number().nullable(),
  active: z.boolean(),
  created_at: z.string(),
});
const Alert = z.object({
  id: z.number(),
  kind: z.enum(KINDS),
  key: z.string().describe("the condition within its kind: sku@location, an order number, po:<id>, a source"),
  status: z.enum(["open", "resolved"]),
  evidence: z.record(z.string(), z.unknown()),
  opened_at: z.string(),
  changed_at: z.string().describe("when the evidence last changed"),
  resolved_at: z.string().nullable(),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
});

export async function alertRoutes(app: App, { db }: AppDeps) {
  app.get(
    "/v1/alerts",
    {
      schema: {
        security: requires("reports:read"),
        tags,
        summary: "Alerts, newest first; each opens and resolves with its condition",
        querystring: z.strictObject({
          status: z.enum(["open", "resolved"]).optional(),
          kind: z.enum(KINDS).optional(),
          ...pageQuery,
        }),
        response: { 200: z.object({ data: z.array(Alert), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => listAlerts(db, req.query),
  );

  app.post(
    "/v1/alerts/:id/acknowledge",
    {
      schema: {
        security: requires("alerts:manage"),
        tags,
        summary: "Acknowledge an alert (it still resolves by itself when its condition ends)",
        params: z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
        response: { 200: Alert },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await acknowledgeAlert(tx, req.params.id, actorOf(req)),
      })),
  );

  app.post(
    "/v1/notification-targets",
    {
      schema: {
        security: requires("alerts:manage"),
        tags,
        summary:
          "Send opened alerts to a signed webhook, a Slack-compatible incoming webhook or an e-mail address",
        description:
          "One message per alert and target, or with `digest_minutes` one message per window with every alert opened in it. A webhook target's signing secret (`Keel-Signature`, as webhook subscriptions) is in this answer only.",
        body: z.strictObject({
          kind: z.enum(["webhook", "slack", "email"]),
          target: z.string().trim().min(3).max(2000).describe("the URL, or the e-mail address"),
          alert_kinds: z.array(z.enum(KINDS)).max(KINDS.length).default([]).describe("all kinds when empty"),
          digest_minutes: z.number().int().min(1).max(10080).optional(),
        }),
        response: { 201: Target.extend({ secret: z.string().optional() }) },
      },
    },
    async (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await createTarget(tx, req.body) })),
  );

  app.get(
    "/v1/notification-targets",
    {
      schema: {
        security: requires("reports:read"),
        tags,
        summary: "Notification targets",
        response: { 200: z.object({ data: z.array(Target) }) },
      },
    },
    async () => ({ data: await listTargets(db) }),
  );
}
