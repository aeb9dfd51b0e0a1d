import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { preparingPool } from "./prepared.js";
import type { Database } from "./schema.js";

// bigint columns (ids, money) come back as numbers; ids and minor-unit amounts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));

export type DB = Kysely<Database>;

const connectionStrings = new WeakMap<DB, string>();
/** Where `db` connects, for the few parts that need a connection of their own (LISTEN). */
export const connectionStringOf = (db: DB): string | undefined => connectionStrings.get(db);

export function createDb(connectionString: string, max = 20): DB {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000 });
  pool.on("error", () => {
    // an idle client lost its connection (server restart); the pool replaces it
  });
  pool.on("connect", (client) => {
    // A checked-out client whose connection drops emits 'error' with no pool
    // listener left; without this the process would crash. The query in
    // flight still fails and its transaction is rolled back by the server.
    client.on("error", () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) as never }) });
  connectionStrings.set(db, connectionString);
  return db;
}
