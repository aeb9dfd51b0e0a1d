import { z } from "zod";
import type { App, AppDeps } from "../http/app.js";
import { requires } from "./permissions.js";
import "../db/schema-audit.js";

const Query = z.strictObject({
  entity_type: z.string().min(1).max(100).optional(),
  entity_id: z.string().min(1).max(200).optional(),
  actor: z.string().min(1).max(300).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .describe("next_cursor of the previous page"),
});

const Entry = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  actor_kind: z.enum(["key", "user", "anonymous"]),
  action: z.string(),
  entity_type: z.string().nullable(),
  entity_id: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  request_id: z.string().nullable(),
  ip: z.string().nullable(),
  approval_id: z.number().int().nullable(),
});

export async function auditRoutes(app: App, { db }: AppDeps) {
  app.get(
    "/v1/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "The audit trail, newest first: who changed what, when, from where",
        security: requires("audit:read"),
        querystring: Query,
        response: { 200: z.object({ data: z.array(Entry), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const q = req.query;
      let query = db
        .selectFrom("audit_log")
        .selectAll()
        .orderBy("id", "desc")
        .limit(q.limit + 1);
      if (q.entity_type) query = query.where("entity_type", "=", q.entity_type);
      if (q.entity_id) query = query.where("entity_id", "=", q.entity_id);
      if (q.actor) query = query.where("actor", "=", q.actor);
      if (q.from) query = query.where("at", ">=", new Date(q.from));
      if (q.to) query = query.where("at", "<", new Date(q.to));
      if (q.cursor) query = query.where("id", "<", Number(q.cursor));
      const rows = await query.execute();
      const page = rows.slice(0, q.limit);
      return {
        data: page.map((r) => ({ ...r, at: r.at.toISOString() })),
        next_cursor: rows.length > q.limit ? String(page[page.length - 1]?.id) : null,
      };
    },
  );
}
