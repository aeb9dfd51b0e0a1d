import { createHash } from "node:crypto";
import type pg from "pg";

/**
 * Plan caching for every query Kysely sends. PostgreSQL parses and plans an
 * unnamed statement on every execution; for Keel's short OLTP statements that
 * planning is a large share of the database's CPU. A statement text seen
 * often enough is sent as a named prepared statement instead, which each
 * connection parses once and whose plan PostgreSQL caches. Texts are counted
 * process-wide and at most `limit` distinct texts are ever prepared, so
 * queries built with varying shapes cannot grow a connection's statement
 * cache without bound.
 */
export class StatementCache {
  private seen = new Map<string, number>();
  private names = new Map<string, string>();

  constructor(
    private readonly limit = 2000,
    private readonly after = 2,
  ) {}

  nameFor(text: string): string | undefined {
    const named = this.names.get(text);
    if (named) return named;
    if (this.names.size >= this.limit) return undefined;
    const count = (this.seen.get(text) ?? 0) + 1;
    if (count < this.after) {
      if (this.seen.size > 20_000) this.seen.clear();
      this.seen.set(text, count);
      return undefined;
    }
    this.seen.delete(text);
    const name = `k_${createHash("sha1").update(text).digest("base64url").slice(0, 20)}`;
    this.names.set(text, name);
    return name;
  }
}

/** A pool for Kysely whose clients send hot statements as named prepared statements. */
export function preparingPool(pool: pg.Pool, cache = new StatementCache()) {
  return {
    async connect() {
      const client = await pool.connect();
      return {
        query(text: unknown, values?: readonly unknown[]) {
          if (typeof text !== "string") return client.query(text as never);
          const name = values && values.length > 0 ? cache.nameFor(text) : undefined;
          return name
            ? client.query({ name, text, values: values as unknown[] })
            : client.query(text, values as unknown[] | undefined);
        },
        release: (err?: Error | boolean) => client.release(err),
      };
    },
    end: () => pool.end(),
  };
}
