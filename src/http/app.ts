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
import { accessHook } from "../access/authenticate.js";
import { requireDeclaredPermissions } from "../access/guard.js";
import { syncBuiltInRoles } from "../access/roles.js";
import { alertNotifier } from "../alerts/targets.js";
import { type HttpLimits, readConfig } from "../config.js";
import type { DB } from "../db/pool.js";
import { ReadReplica } from "../db/replica.js";
import { isDatabaseUnavailable } from "../db/tx.js";
import { EventFeed } from "../events/feed.js";
import { OutboxWakeups } from "../events/wakeups.js";
import { INBOX_FAILURE_SOURCE } from "../integrations/channels/inbox.js";
import { inboxFailureRetry, inboxHandlers } from "../integrations/channels/inbox-handlers.js";
import { retryShopifyFailure } from "../integrations/channels/shopify/sync-jobs.js";
import { retryWooFailure } from "../integrations/channels/woocommerce/retry.js";
import { wooStockConsumer } from "../integrations/channels/woocommerce/stock.js";
import { type DispatchOptions, startDispatch } from "../integrations/dispatch/runtime.js";
import type { RetryHandlers } from "../integrations/monitor/retry.js";
import { type NatsOptions, natsPublisher } from "../integrations/nats/publisher.js";
import { retryPullFailure } from "../integrations/stock-feed/pull.js";
import { retryWebhookFailure } from "../integrations/webhooks/retry.js";
import { StorefrontCache } from "../inventory/storefront-cache.js";
import { customerNotifications } from "../notifications/messages.js";
import { retryEmailFailure } from "../notifications/sender.js";
import { fillBackordersOnArrival } from "../orders/backorders.js";
import { routes } from "../routes.js";
import { actorOf, hashKey, KeyVerifier } from "./auth.js";
import { DomainError, problemType } from "./errors.js";
import { hardenHttp, LOG_REDACT } from "./hardening.js";
import { metricsPlugin } from "./metrics.js";
import { completeDocument, type OpenApiDocument } from "./openapi.js";
import { OutageWatch } from "./outage.js";
import { serveWeb } from "./web.js";

declare module "fastify" {
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
  /** Where reads that may lag a little (reports, dashboard, exports) go: the replica while it keeps up. */
  reads: ReadReplica;
  /** Retry handlers for integration failures, by source; each part (webhooks, connectors) adds its own. */
  retryHandlers: RetryHandlers;
  /** How often live streams send a heartbeat comment. */
  heartbeatMs: number;
}

export interface AppOptions {
  db: DB;
  /** true or options: pino, with secrets redacted (LOG_REDACT) unless `redact` is given. */
  logger?: boolean | { level: string; stream?: { write(line: string): void } };
  /** A streaming replica of `db` for reports, the dashboard and exports, skipped while it lags. */
  replica?: { db: DB; maxLagMs: number; checkEveryMs?: number };
  /** How often the event feed polls the outbox; 0 leaves polling to the caller (tests). */
  feedIntervalMs?: number;
  /** The outbox dispatcher and webhook sender; false leaves them off (tests that drive them by hand). */
  dispatch?: DispatchOptions | false;
  /** A NATS server with JetStream: every outbox event is also published there (`keel.<type>`). */
  nats?: NatsOptions;
  /** Heartbeat of live streams (default 15 s). */
  heartbeatMs?: number;
  retryHandlers?: RetryHandlers;
  /** The built admin app served at `/` (default web/dist; false: none). */
  webDist?: string | false;
  /** Rate limits, body size and storefront CORS origins (default: the environment's, see src/config.ts). */
  limits?: Partial<HttpLimits>;
}

export async function buildApp(opts: AppOptions): Promise<App> {
  const limits: HttpLimits = { ...readConfig().http, ...opts.limits };
  const app = Fastify({
    logger: opts.logger ? { redact: LOG_REDACT, ...(opts.logger === true ? {} : opts.logger) } : false,
    bodyLimit: limits.bodyLimit,
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
        license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" },
        contact: { name: "Keel", url: "https://github.com/keel-ops/keel" },
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "A Keel API key" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: "__Host-keel_session",
            description: "The admin app's session cookie (writes also need the CSRF header)",
          },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (documents) =>
      completeDocument(
        (documents as unknown as { openapiObject: OpenApiDocument }).openapiObject,
        readConfig().publicUrl,
      ) as never,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(metricsPlugin);

  requireDeclaredPermissions(app);
  const { principalLimitHook } = await hardenHttp(app, limits);
  const verifier = new KeyVerifier(opts.db);
  await verifier.start();
  app.decorate("keyVerifier", verifier);
  app.addHook("onClose", () => verifier.stop());
  app.addHook("onRequest", accessHook(verifier, opts.db));
  if (principalLimitHook) app.addHook("onRequest", principalLimitHook);
  await syncBuiltInRoles(opts.db);

  // one line when an outage starts and one when it ends, not one per request
  const outage = new OutageWatch(opts.db, app.log);
  app.addHook("onClose", async () => outage.stop());
  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err);
    if (problem.status === 503) {
      outage.begin(err);
      reply.header("retry-after", String(RETRY_AFTER_OUTAGE_S));
    } else if (problem.status >= 500) req.log.error({ err }, "request failed");
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

  fillBackordersOnArrival();
  const feed = new EventFeed(opts.db, opts.feedIntervalMs ?? 100);
  await feed.start();
  const storefront = new StorefrontCache(opts.db, feed);
  const nats = opts.nats && opts.dispatch !== false ? await natsPublisher(opts.nats) : undefined;
  const dispatch =
    opts.dispatch === false
      ? undefined
      : startDispatch(opts.db, app.log, {
          ...opts.dispatch,
          consumers: [wooStockConsumer, alertNotifier, customerNotifications, ...(nats ? [nats] : [])],
        });
  // other processes' feeds (and caches) look at the outbox as soon as a write here is answered
  const wakeups =
    (opts.feedIntervalMs ?? 100) > 0 ? new OutboxWakeups(opts.db, () => feed.wake()) : undefined;
  await wakeups?.start();
  if (wakeups) {
    app.addHook("onResponse", async (req, reply) => {
      if (reply.statusCode < 400 && req.method !== "GET" && req.method !== "HEAD") wakeups.announce();
    });
  }
  const reads = new ReadReplica(opts.db, opts.replica?.db, {
    maxLagMs: opts.replica?.maxLagMs ?? 0,
    checkEveryMs: opts.replica?.checkEveryMs ?? 1000,
    onChange: (usable, reason, lagMs) =>
      usable
        ? app.log.info({ lagMs }, "read replica in use")
        : app.log.warn({ reason, lagMs }, "read replica skipped: reads go to the primary"),
  });
  await reads.start();
  app.addHook("onResponse", async (req, reply) => {
    if (reply.statusCode < 400 && req.method !== "GET" && req.method !== "HEAD") reads.wrote(actorOf(req));
  });
  app.addHook("onClose", async () => {
    await reads.stop();
    await wakeups?.stop();
    await dispatch?.stop();
    await nats?.close();
    storefront.close();
    await feed.stop();
  });
  app.decorate("feed", feed);

  // how each kind of integration failure is retried; tests and connectors may add theirs
  const retryHandlers: RetryHandlers = new Map([
    ["webhook", retryWebhookFailure],
    ["stock-feed-pull", retryPullFailure],
    [INBOX_FAILURE_SOURCE, inboxFailureRetry(inboxHandlers())],
    ["email", retryEmailFailure],
    ["shopify", retryShopifyFailure],
    ["woocommerce", retryWooFailure],
    ...(opts.retryHandlers ?? []),
  ]);
  for (const register of routes)
    await register(app, {
      db: opts.db,
      feed,
      storefront,
      reads,
      retryHandlers,
      heartbeatMs: opts.heartbeatMs ?? 15_000,
    });
  // the admin app at `/`, after every server route so it never shadows one
  if (opts.webDist !== false) await serveWeb(app, opts.webDist);
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

/** What a client is told to wait while the database cannot be reached (a restart or failover takes seconds). */
const RETRY_AFTER_OUTAGE_S = 5;

function toProblem(err: unknown): Problem {
  if (isDatabaseUnavailable(err)) {
    return {
      type: problemType("unavailable"),
      title: "Service unavailable",
      status: 503,
      detail: "The database cannot be reached right now; nothing was changed. Retry after a few seconds.",
      code: "unavailable",
    };
  }
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
      e.statusCode === 401
        ? "unauthorized"
        : e.statusCode === 429
          ? "rate_limited"
          : e.statusCode === 413
            ? "payload_too_large"
            : "validation_failed";
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
