import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { DB } from "../db/pool.js";
import { EventFeed } from "../events/feed.js";
import { StorefrontCache } from "../inventory/storefront-cache.js";
import { routes } from "../routes.js";
import { hashKey, KeyVerifier, type Principal } from "./auth.js";
import { DomainError, problemType, Unauthorized } from "./errors.js";
import { metricsPlugin } from "./metrics.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    feed: EventFeed;
  }
}

export type App = FastifyInstance<
  import("node:http").Server,
  import("node:http").IncomingMessage,
  import("node:http").ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export interface AppDeps {
  db: DB;
  /** Every committed change, as it commits, for in-process caches and live streams. */
  feed: EventFeed;
  storefront: StorefrontCache;
}

export interface AppOptions {
  db: DB;
  logger?: boolean | { level: string };
  /** How often the event feed polls the outbox; 0 leaves polling to the caller (tests). */
  feedIntervalMs?: number;
}

/** Paths that need no API key. Channel webhooks are verified by their signature instead. */
function isPublic(url: string): boolean {
  return (
    !url.startsWith("/v1/") ||
    url.startsWith("/v1/storefront/") ||
    /^\/v1\/channels\/[^/]+\/webhooks/.test(url)
  );
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Keel API",
        version: "1",
        description: "The operations backbone of an online shop. Contract: shared/API.md.",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "A Keel API key" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: "__Host-keel_sid",
            description: "The admin app's session cookie (writes also need the CSRF header)",
          },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(metricsPlugin);

  const verifier = new KeyVerifier(opts.db);
  app.addHook("onRequest", async (req) => {
    if (isPublic(req.url)) return;
    const header = req.headers.authorization;
    const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new Unauthorized();
    const principal = await verifier.verify(match[1]);
    if (!principal) throw new Unauthorized("The API key is unknown or revoked");
    req.principal = principal;
  });

  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err);
    if (problem.status >= 500) req.log.error({ err }, "request failed");
    reply.code(problem.status).type("application/problem+json").send(problem);
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .type("application/problem+json")
      .send({
        type: problemType("not_found"),
        title: "Not found",
        status: 404,
        detail: `No route ${req.method} ${req.url.split("?")[0]}`,
        code: "not_found",
      });
  });

  app.get("/health", { schema: { hide: true } }, async () => {
    await opts.db.selectNoFrom((eb) => eb.val(1).as("ok")).execute();
    return { status: "ok" };
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  const feed = new EventFeed(opts.db, opts.feedIntervalMs ?? 100);
  await feed.start();
  const storefront = new StorefrontCache(opts.db, feed);
  app.addHook("onClose", async () => {
    storefront.close();
    await feed.stop();
  });
  app.decorate("feed", feed);

  for (const register of routes) await register(app, { db: opts.db, feed, storefront });
  return app;
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [k: string]: unknown;
}

function toProblem(err: unknown): Problem {
  if (err instanceof DomainError) {
    // extra fields first: they can never overwrite the stable members
    return {
      ...err.extra,
      type: problemType(err.code),
      title: err.title,
      status: err.status,
      detail: err.message,
      code: err.code,
    };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext ?? "body";
    const errors = err.validation.map((v) => {
      // fastify-type-provider-zod puts the zod issue's own fields (e.g. `keys`) straight into params
      const params = v.params as {
        keys?: string[];
        issue?: { path?: PropertyKey[]; message?: string; keys?: string[] };
      };
      const issuePath = params.issue?.path ?? v.instancePath.split("/").filter(Boolean);
      const keys = params.keys ?? params.issue?.keys;
      const base = [context, ...issuePath.map(String)].join(".");
      return keys?.length
        ? { path: `${base}.${keys[0]}`, message: `unknown field ${keys.join(", ")}` }
        : { path: base, message: params.issue?.message ?? v.message ?? "invalid" };
    });
    return {
      type: problemType("validation_failed"),
      title: "Validation failed",
      status: 400,
      detail: errors.map((e) => `${e.path}: ${e.message}`).join("; "),
      code: "validation_failed",
      errors,
    };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const code =
      e.statusCode === 401 ? "unauthorized" : e.statusCode === 429 ? "rate_limited" : "validation_failed";
    return {
      type: problemType(code),
      title: e.statusCode === 413 ? "Payload too large" : "Bad request",
      status: e.statusCode,
      detail: e.message ?? "bad request",
      code,
    };
  }
  return {
    type: problemType("internal"),
    title: "Internal error",
    status: 500,
    detail: "Internal error",
    code: "internal",
  };
}

export { hashKey };
