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
}

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
  };
}

function intFrom(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}
