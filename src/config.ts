import path from "node:path";

/** Process configuration, read once from the environment. Documented in README.md. */
export interface KeelConfig {
  /** An existing PostgreSQL server; when unset Keel runs its own in `dataDir/pg`. */
  databaseUrl?: string;
  dataDir: string;
  port: number;
  host: string;
  logLevel: string;
  /** Connections in the pool of one API process. */
  poolSize: number;
  /** How often the reservation sweeper looks for expired holds, in ms. 0 turns it off. */
  sweepIntervalMs: number;
  /** A NATS server with JetStream: every outbox event is also published there as `keel.<type>`. */
  natsUrl?: string;
  /** A streaming replica for reports, the dashboard and exports (docs/scaling.md). */
  readDatabaseUrl?: string;
  /** A replica further behind than this (ms) is skipped, with a logged reason. */
  readMaxLagMs: number;
  /** Where clients reach this Keel (the OpenAPI document's server); unset: relative to the document. */
  publicUrl?: string;
  /** Request limits and browser-facing headers of the HTTP API (src/http/hardening.ts). */
  http: HttpLimits;
  /** KEEL_SECRET: the key that encrypts channel and webhook secrets at rest; else a key file in dataDir. */
  secret?: string;
}

export interface HttpLimits {
  /** Requests per window per API key or signed-in user; 0 turns the limit off. */
  perPrincipal: number;
  /** Requests per window per client IP, counted before authentication; 0 turns the limit off. */
  perIp: number;
  windowMs: number;
  /** Largest request body in bytes (CSV imports have their own, larger limit). */
  bodyLimit: number;
  /** Origins allowed to call the storefront endpoints from a browser (CORS); none by default. */
  storefrontOrigins: string[];
}

/** Generous: they stop a runaway client, not a busy integration (about 1,000 requests a second each). */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  perPrincipal: 60_000,
  perIp: 60_000,
  windowMs: 60_000,
  bodyLimit: 1024 * 1024,
  storefrontOrigins: [],
};

export function readConfig(env: NodeJS.ProcessEnv = process.env): KeelConfig {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.KEEL_DATA_DIR || "data"),
    port: intFrom(env.PORT, 3000),
    host: env.HOST || "127.0.0.1",
    logLevel: env.LOG_LEVEL || "info",
    poolSize: intFrom(env.KEEL_POOL_SIZE, 20),
    sweepIntervalMs: intFrom(env.KEEL_SWEEP_INTERVAL_MS, 5000),
    natsUrl: env.NATS_URL || undefined,
    readDatabaseUrl: env.KEEL_READ_DATABASE_URL || undefined,
    readMaxLagMs: intFrom(env.KEEL_READ_MAX_LAG_MS, 5000),
    publicUrl: env.KEEL_PUBLIC_URL ? env.KEEL_PUBLIC_URL.replace(/\/+$/, "") : undefined,
    http: {
      perPrincipal: intFrom(env.KEEL_RATE_LIMIT_PER_PRINCIPAL, DEFAULT_HTTP_LIMITS.perPrincipal),
      perIp: intFrom(env.KEEL_RATE_LIMIT_PER_IP, DEFAULT_HTTP_LIMITS.perIp),
      windowMs: intFrom(env.KEEL_RATE_LIMIT_WINDOW_MS, DEFAULT_HTTP_LIMITS.windowMs) || 1,
      bodyLimit: intFrom(env.KEEL_BODY_LIMIT, DEFAULT_HTTP_LIMITS.bodyLimit),
      storefrontOrigins: (env.KEEL_STOREFRONT_ORIGINS ?? "")
        .split(",")
        .map((o) => o.trim().replace(/\/+$/, ""))
        .filter(Boolean),
    },
    secret: env.KEEL_SECRET || undefined,
  };
}

function intFrom(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}
