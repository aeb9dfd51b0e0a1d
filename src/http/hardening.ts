import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import type { FastifyReply, FastifyRequest } from "fastify";
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
 * Security headers on every answer (helmet; the CSP allows the admin app's and
 * /docs' own scripts and styles, nothing from elsewhere), CORS for the
 * storefront endpoints only, and two request limits: per client IP before
 * authentication (also bounds guessing keys), and per API key or signed-in
 * user after it. Registered before the access hook, so the IP limit runs first;
 * `principalLimitHook` is added after it by the caller.
 */
export async function hardenHttp(app: App, limits: HttpLimits = DEFAULT_HTTP_LIMITS) {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        // Keel is commonly served over plain http on localhost; upgrading its own asset URLs would break the app
        "upgrade-insecure-requests": null,
        "connect-src": ["'self'"],
      },
    },
    // the storefront's answers are read by shops' pages on other origins; see below
    crossOriginResourcePolicy: { policy: "same-origin" },
  });
  app.addHook("onRequest", async (req, reply) => {
    if (STOREFRONT.test(req.url)) reply.header("cross-origin-resource-policy", "cross-origin");
  });

  const origins = new Set(limits.storefrontOrigins);
  await app.register(cors, {
    hook: "onRequest",
    delegator: (req, cb) => {
      const url = req.url ?? "";
      const origin = req.headers.origin;
      const allowed = STOREFRONT.test(url) && typeof origin === "string" && origins.has(origin);
      cb(null, allowed ? { origin, methods: ["GET", "HEAD"], maxAge: 600 } : { origin: false });
    },
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
