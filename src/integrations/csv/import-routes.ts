import { z } from "zod";
import { authorize } from "../../access/guard.js";
import { requires } from "../../access/permissions.js";
import type { DB } from "../../db/pool.js";
import type { App, AppDeps } from "../../http/app.js";
import { actorOf } from "../../http/auth.js";
import { DomainError, NotFound } from "../../http/errors.js";
import { write } from "../../http/idempotency.js";
import { runImport } from "./imports.js";
import "../../db/schema-imports.js";

const tags = ["csv"];
const MAX_BYTES = 20 * 1024 * 1024;

const ImportQuery = z.strictObject({
  kind: z.enum(["products", "levels"]),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "an ISO 4217 currency code")
    .refine((c) => {
      try {
        new Intl.NumberFormat("en", { style: "currency", currency: c });
        return true;
      } catch {
        return false;
      }
    }, "an ISO 4217 currency code")
    .default("EUR")
    .describe("currency of the prices in a products file"),
});

const ImportStatus = z.object({
  id: z.number(),
  kind: z.enum(["products", "levels"]),
  status: z.enum(["running", "done", "failed"]),
  rows: z.number(),
  applied: z.number(),
  error_count: z.number(),
  errors: z.array(z.object({ line: z.number(), message: z.string() })),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});

async function getImport(db: DB, id: number) {
  const row = await db.selectFrom("imports").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw new NotFound("import", id);
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    rows: row.rows,
    applied: row.applied,
    error_count: row.error_count,
    errors: row.errors,
    created_at: row.created_at.toISOString(),
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}

/** CSV imports: the file is accepted with 202 and imported in the background. */
export async function importRoutes(app: App, { db }: AppDeps) {
  await app.register(async (scope: App) => {
    // text/csv only here: the raw text, up to 20 MB
    scope.addContentTypeParser(
      ["text/csv"],
      { parseAs: "string", bodyLimit: MAX_BYTES },
      (_req, body, done) => done(null, body),
    );

    scope.post(
      "/v1/imports",
      {
        bodyLimit: MAX_BYTES,
        schema: {
          security: requires("catalog:write"),
          tags,
          summary: "Import a CSV file",
          description:
            "`kind=products`: Shopify's product CSV (current or legacy header); `kind=levels`: `sku,location,on_hand`. Answers 202 at once; poll `GET /v1/imports/{id}`. Each row applies on its own, and re-importing a file changes nothing.",
          querystring: ImportQuery,
          response: {
            202: z.strictObject({
              id: z.number().int(),
              status: z.string().describe("`running` until every row is applied"),
            }),
          },
        },
      },
      async (req, reply) => {
        if (typeof req.body !== "string") {
          throw new DomainError(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            "send the file as text/csv",
          );
        }
        const text = req.body;
        const { kind, currency } = req.query;
        // levels change stock, so they also need inventory:adjust
        if (kind === "levels" && req.principal) authorize(req.principal.grants, "inventory:adjust");
        const actor = actorOf(req);
        const created = await write(db, req, reply, async (tx) => {
          const row = await tx
            .insertInto("imports")
            .values({ kind, actor, currency, errors: "[]" })
            .returning(["id", "status"])
            .executeTakeFirstOrThrow();
          return { status: 202, body: { id: row.id, status: row.status } };
        });
        // a replayed Idempotency-Key finds the import already started and starts nothing
        const claimed = await db
          .updateTable("imports")
          .set({ started: true })
          .where("id", "=", created.id)
          .where("started", "=", false)
          .returning("id")
          .executeTakeFirst();
        if (claimed) void runImport(db, { id: created.id, kind, text, actor, currency });
        return created;
      },
    );
  });

  app.get(
    "/v1/imports/:id",
    {
      schema: {
        security: requires("catalog:read"),
        tags,
        summary: "An import's progress and row errors",
        params: z.strictObject({ id: z.coerce.number().int().min(1) }),
        response: { 200: ImportStatus },
      },
    },
    (req) => getImport(db, req.params.id),
  );
}
