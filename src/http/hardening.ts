import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { PUBLIC } from "../access/permissions.js";
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "../config.js";
import type { App } from "./app.js";
import { DomainError } from "./errors.js";

export class RateLimited extends DomainError {
  constructor(retryAfterS: number, per: "ip" | "principal") {
    super(
      429,
      "rate_limited",
      "Too many requests",
      `Too many requests from this ${per === "ip" ? "address" : "API key or user"}; retry after ${retryAfterS} s`,
      { retry_after: retryAfterS },
    );
  }
}

/** The storefront's public endpoints, the only ones a browser on another origin may call (API.md). */
const STOREFRONT = /^\/v1\/storefront\//;

type Limiter = (req: FastifyRequest) => Promise<{ isExceeded?: boolean; ttlInSeconds?: number }>;

/**
 * Security headers on every answer (helmet's; for pages a CSP that allows the
 * admin app's and /docs' own scripts and styles and nothing from elsewhere,
 * for API answers a CSP under which nothing runs), CORS for the
 * storefront endpoints only, and two request limits: per client IP before
 * authentication (also bounds guessing keys), and per API key or signed-in
 * user after it. Registered before the access hook, so the IP limit runs first;
 * `principalLimitHook` is added after it by the caller.
 */
export async function hardenHttp(app: App, limits: HttpLimits = DEFAULT_HTTP_LIMITS) {
  const pageHeaders = await securityHeaders(PAGE_HELMET);
  const apiHeaders = await securityHeaders(API_HELMET);
  const storefrontHeaders = { ...apiHeaders, "cross-origin-resource-policy": "cross-origin" };
  const cors = storefrontCors(app, originAllowed(limits.storefrontOrigins));
  app.addHook("onRequest", async (req, reply) => {
    const url = req.url;
    if (STOREFRONT.test(url)) {
      // the storefront's answers are read by shops' pages on other origins
      reply.headers(storefrontHeaders);
      if (req.method !== "OPTIONS") cors(req, reply);
    } else reply.headers(API_PATHS.test(url) ? apiHeaders : pageHeaders);
  });

  await app.register(rateLimit, { global: false });
  const ip = limits.perIp > 0 ? limiter(app, limits.perIp, limits.windowMs, (r) => `ip:${r.ip}`) : null;
  if (ip) app.addHook("onRequest", limitHook(ip, "ip"));
  const principal =
    limits.perPrincipal > 0
      ? limiter(app, limits.perPrincipal, limits.windowMs, (r) =>
          r.principal?.apiKeyId != null ? `key:${r.principal.apiKeyId}` : `user:${r.principal?.userId}`,
        )
      : null;
  return {
    /** Add after the access hook: it needs `req.principal`. */
    principalLimitHook: principal
      ? async (req: FastifyRequest, reply: FastifyReply) => {
          if (req.principal) await limitHook(principal, "principal")(req, reply);
        }
      : null,
  };
}

/** Answers that are data, not pages: the API, health, metrics and the OpenAPI document. */
const API_PATHS = /^\/(v1|health|metrics|openapi\.json)(\/|\?|$)/;

/** The admin app and /docs: helmet's defaults, with a CSP for their own scripts, styles and API calls. */
const PAGE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: {
      // Keel is commonly served over plain http on localhost; upgrading its own asset URLs would break the app
      "upgrade-insecure-requests": null,
      "connect-src": ["'self'"],
    },
  },
  crossOriginResourcePolicy: { policy: "same-origin" as const },
};

/**
 * API answers (OWASP REST Security Cheat Sheet): nothing in them may run or be
 * framed, and the headers that only matter to pages are left out; fewer
 * bytes on every answer of the hot paths.
 */
const API_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { "default-src": ["'none'"], "frame-ancestors": ["'none'"] },
  },
  crossOriginResourcePolicy: { policy: "same-origin" as const },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xFrameOptions: { action: "deny" as const },
};

/**
 * The headers @fastify/helmet sets, worked out once. The plugin rebuilds
 * helmet's middleware (CSP included) on every request, which cost ~25 µs of
 * CPU per request here (the storefront answers in ~90 µs); Keel's headers are
 * the same on every answer, so they are taken from one request to a probe
 * instance at start and then set as they are.
 */
async function securityHeaders(
  options: typeof PAGE_HELMET | typeof API_HELMET,
): Promise<Record<string, string>> {
  const probe = Fastify();
  await probe.register(helmet, options);
  probe.get("/", async () => "");
  const res = await probe.inject({ url: "/" });
  await probe.close();
  const own = new Set(["content-type", "content-length", "date", "connection", "keep-alive"]);
  return Object.fromEntries(
    Object.entries(res.headers)
      .filter(([k]) => !own.has(k))
      .map(([k, v]) => [k, String(v)]),
  );
}

/**
 * CORS for the storefront endpoints and nothing else (API.md): the origins in
 * KEEL_STOREFRONT_ORIGINS may read them from a browser, GET and HEAD, and
 * preflights are answered. Written here rather than with @fastify/cors, whose
 * hook runs on every request of every route (measured: ~6 µs of CPU per
 * request on this machine, against ~1 µs for this check).
 */
/** KEEL_STOREFRONT_ORIGINS as a test: origins compare without case, `*` allows any. */
export function originAllowed(origins: string[]): (origin: string) => boolean {
  const set = new Set(origins.map((o) => o.toLowerCase()));
  if (set.has("*")) return () => true;
  return (origin) => set.has(origin.toLowerCase());
}

function storefrontCors(app: App, allowed: (origin: string) => boolean) {
  const allow = (req: FastifyRequest, reply: FastifyReply): boolean => {
    reply.header("vary", "Origin"); // caches keep one answer per origin
    const origin = req.headers.origin;
    if (typeof origin !== "string" || !allowed(origin)) return false;
    reply.header("access-control-allow-origin", origin);
    return true;
  };
  app.options("/v1/storefront/*", { schema: { hide: true, security: PUBLIC } }, async (req, reply) => {
    if (allow(req, reply) && typeof req.headers["access-control-request-method"] === "string") {
      reply.header("access-control-allow-methods", "GET, HEAD");
      const asked = req.headers["access-control-request-headers"];
      if (typeof asked === "string") reply.header("access-control-allow-headers", asked);
      reply.header("access-control-max-age", "600");
    }
    return reply.code(204).send();
  });
  return allow;
}

function limiter(app: App, max: number, timeWindow: number, keyGenerator: (r: FastifyRequest) => string) {
  const create = (app as unknown as { createRateLimit(o: object): Limiter }).createRateLimit;
  return create({ max, timeWindow, keyGenerator });
}

function limitHook(limit: Limiter, per: "ip" | "principal") {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const res = await limit(req);
    if (!res.isExceeded) return;
    const retryAfter = Math.max(1, res.ttlInSeconds ?? 1);
    reply.header("retry-after", String(retryAfter));
    throw new RateLimited(retryAfter, per);
  };
}

/** Fields never written to a log, at any of the first four levels of a log line's object. */
const SECRET_LOG_FIELDS = [
  "password",
  "secret",
  "token",
  "access_token",
  "consumer_secret",
  "webhook_secret",
  "previous_webhook_secret",
  "csrf_token",
  "totp",
  "totp_secret",
  "api_key",
  "authorization",
  "cookie",
  "x-csrf-token",
  "set-cookie",
];

/**
 * pino's `redact` for every Keel logger: request and response headers that
 * carry credentials, and secret fields of anything logged (bodies, configs,
 * errors' extra fields), replaced by "[redacted]".
 */
export const LOG_REDACT = {
  censor: "[redacted]",
  paths: SECRET_LOG_FIELDS.flatMap((k) => {
    const seg = /^[a-z_]+$/.test(k) ? `.${k}` : `["${k}"]`;
    return [seg.startsWith(".") ? k : seg, `*${seg}`, `*.*${seg}`, `*.*.*${seg}`];
  }),
};
