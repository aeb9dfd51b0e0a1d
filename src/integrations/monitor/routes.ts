import { sql } from "kysely";
import { z } from "zod";
import { requires } from "../../access/permissions.js";
import type { DB } from "../../db/pool.js";
import type { App, AppDeps } from "../../http/app.js";
import { Conflict, NotFound, ValidationFailed } from "../../http/errors.js";
import { write } from "../../http/idempotency.js";
import type { FailureRow } from "./retry.js";
import { type FailureFilter, retryLocked } from "./retry-run.js";
import "../../db/schema-monitor.js";

const Failure = z.object({
  id: z.number(),
  source: z.string(),
  channel: z.string().nullable(),
  operation: z.string(),
  subject: z.string(),
  error: z.string(),
  detail: z.record(z.string(), z.unknown()),
  attempts: z.number(),
  status: z.enum(["open", "resolved"]),
  first_at: z.string(),
  last_at: z.string(),
  resolved_at: z.string().nullable(),
  resolution: z.string().nullable(),
});

const iso = (d: Date | string) => new Date(d).toISOString();
function view(f: FailureRow): z.infer<typeof Failure> {
  return {
    id: Number(f.id),
    source: f.source,
    channel: f.channel_code,
    operation: f.operation,
    subject: f.subject,
    error: f.error,
    detail: f.detail,
    attempts: f.attempts,
    status: f.status,
    first_at: iso(f.first_at),
    last_at: iso(f.last_at),
    resolved_at: f.resolved_at ? iso(f.resolved_at) : null,
    resolution: f.resolution,
  };
}

const Filter = {
  channel: z.string().min(1).max(100).optional(),
  source: z.string().min(1).max(100).optional(),
};

function filtered(db: DB, f: FailureFilter) {
  let q = db.selectFrom("integration_failures").selectAll();
  if (f.channel) q = q.where("channel_code", "=", f.channel);
  if (f.source) q = q.where("source", "=", f.source);
  if (f.status) q = q.where("status", "=", f.status);
  return q;
}

const Problem = z.unknown().describe("problem+json");

export async function monitorRoutes(app: App, { db, retryHandlers }: AppDeps) {
  app.get(
    "/v1/integrations/failures",
    {
      schema: {
        tags: ["integrations"],
        summary: "Integration failures, newest first",
        security: requires("integrations:read"),
        querystring: z.strictObject({
          ...Filter,
          status: z.enum(["open", "resolved"]).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.string().max(20).optional().describe("next_cursor of the previous page"),
        }),
        response: { 200: z.object({ data: z.array(Failure), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const { limit, cursor } = req.query;
      let q = filtered(db, req.query);
      if (cursor !== undefined) {
        const before = Number(cursor);
        if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(before))
          throw new ValidationFailed(
            [{ path: "querystring.cursor", message: "not a cursor from this list" }],
            400,
          );
        q = q.where("id", "<", before);
      }
      const rows = await q
        .orderBy("id", "desc")
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      return {
        data: page.map(view),
        next_cursor: rows.length > limit ? String(page[page.length - 1].id) : null,
      };
    },
  );

  app.post(
    "/v1/integrations/failures/:id/retry",
    {
      schema: {
        tags: ["integrations"],
        summary: "Retry one open failure through its source's retry handler",
        description:
          "200 with the failure after the attempt: `resolved` when the retry succeeded, still `open` with attempts and error bumped when it failed. 409 when it is resolved already or its source has no retry handler (it stays open).",
        security: requires("integrations:manage"),
        params: z.strictObject({ id: z.coerce.number().int().min(1) }),
        response: {
          200: z.object({ outcome: z.enum(["resolved", "failed"]), failure: Failure }),
          404: Problem,
          409: Problem,
        },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        const f = await tx
          .selectFrom("integration_failures")
          .selectAll()
          .where("id", "=", req.params.id)
          .forUpdate()
          .executeTakeFirst();
        if (!f) throw new NotFound("integration failure", req.params.id);
        if (f.status !== "open")
          throw new Conflict(`Integration failure ${f.id} is resolved already (${f.resolution})`, {
            status_now: f.status,
          });
        const outcome = await retryLocked(tx, f, retryHandlers);
        if (outcome === "no_handler")
          throw new Conflict(
            `No retry handler for source ${JSON.stringify(f.source)}: this failure cannot be retried from here and stays open`,
            { source: f.source },
          );
        const after = await tx
          .selectFrom("integration_failures")
          .selectAll()
          .where("id", "=", f.id)
          .executeTakeFirstOrThrow();
        return { status: 200, body: { outcome, failure: view(after) } };
      }),
  );

  app.post(
    "/v1/integrations/failures/retry",
    {
      schema: {
        tags: ["integrations"],
        summary: "Retry every open failure matching the query",
        description:
          "Open failures matching `channel`/`source` (up to `limit`, oldest first; ones another request is retrying right now are skipped). Sources without a retry handler are reported as `no_handler` and stay open. Send an Idempotency-Key to make a repeat return the first answer.",
        security: requires("integrations:manage"),
        querystring: z.strictObject({
          ...Filter,
          limit: z.coerce.number().int().min(1).max(1000).default(500),
        }),
        response: {
          200: z.object({
            matched: z.number(),
            resolved: z.number(),
            failed: z.number(),
            no_handler: z.number(),
            results: z.array(z.object({ id: z.number(), source: z.string(), outcome: z.string() })),
          }),
        },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => {
        let q = tx.selectFrom("integration_failures").selectAll().where("status", "=", "open");
        if (req.query.channel) q = q.where("channel_code", "=", req.query.channel);
        if (req.query.source) q = q.where("source", "=", req.query.source);
        const rows = await q.orderBy("id").limit(req.query.limit).forUpdate().skipLocked().execute();
        const results = [];
        const count = { resolved: 0, failed: 0, no_handler: 0 };
        for (const f of rows) {
          const outcome = await retryLocked(tx, f, retryHandlers);
          count[outcome]++;
          results.push({ id: Number(f.id), source: f.source, outcome });
        }
        return { status: 200, body: { matched: rows.length, ...count, results } };
      }),
  );

  app.get(
    "/v1/integrations/health",
    {
      schema: {
        tags: ["integrations"],
        summary: "Open integration failures per source and channel, and failures in the last 24 h",
        security: requires("integrations:read"),
        response: {
          200: z.object({
            open: z.number(),
            failures_24h: z.number(),
            data: z.array(
              z.object({
                source: z.string(),
                channel: z.string().nullable(),
                open: z.number(),
                failures_24h: z.number(),
                oldest_open_at: z.string().nullable(),
                last_failure_at: z.string(),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      const rows = await sql<{
        source: string;
        channel: string | null;
        open: string;
        failures_24h: string;
        oldest_open_at: Date | null;
        last_failure_at: Date;
      }>`
        select source, channel_code as channel,
          count(*) filter (where status = 'open') as open,
          count(*) filter (where last_at > now() - interval '24 hours') as failures_24h,
          min(first_at) filter (where status = 'open') as oldest_open_at,
          max(last_at) as last_failure_at
        from integration_failures
        where status = 'open' or last_at > now() - interval '24 hours'
        group by source, channel_code
        order by source, channel_code nulls first`.execute(db);
      const data = rows.rows.map((r) => ({
        source: r.source,
        channel: r.channel,
        open: Number(r.open),
        failures_24h: Number(r.failures_24h),
        oldest_open_at: r.oldest_open_at ? iso(r.oldest_open_at) : null,
        last_failure_at: iso(r.last_failure_at),
      }));
      return {
        open: data.reduce((n, r) => n + r.open, 0),
        failures_24h: data.reduce((n, r) => n + r.failures_24h, 0),
        data,
      };
    },
  );
}
