import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createDb, type DB } from "../src/db/pool.js";
import { type App, type AppOptions, buildApp } from "../src/http/app.js";
import { createApiKey } from "../src/http/auth.js";
import { withDatabase } from "./global-setup.js";

export interface TestContext {
  db: DB;
  app: App;
  url: string;
  key: string;
  auth: { authorization: string };
  close(): Promise<void>;
}

/** A database of this test file's own, cloned from the migrated template. */
export async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject("adminUrl");
  const template = inject("templateDb");
  const name = `${template.replace("template", "t")}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  // cloning needs the template to have no other sessions; retry briefly if another file is cloning
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`create database ${name} template ${template}`);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== "55006" || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A Keel app on a fresh database, with an API key, ready for `app.inject` or a real port. */
export async function testApp(
  opts: { pool?: number; app?: Omit<Partial<AppOptions>, "db"> } = {},
): Promise<TestContext> {
  const database = await testDatabase();
  const db = createDb(database.url, opts.pool ?? 10);
  const app = await buildApp({
    db,
    logger: process.env.TEST_LOG ? { level: process.env.TEST_LOG } : false,
    ...opts.app,
  });
  await app.ready();
  const { key } = await createApiKey(db, "test");
  return {
    db,
    app,
    url: database.url,
    key,
    auth: { authorization: `Bearer ${key}` },
    async close() {
      await app.close();
      await db.destroy();
      await database.drop();
    },
  };
}

/** The Shopify connector against a local fake: quick retries, short timeouts, a fast dispatcher. */
export const SHOPIFY_TEST_DISPATCH = {
  intervalMs: 20,
  shopify: { client: { backoff: { baseMs: 20, capMs: 200 }, maxAttempts: 3, timeoutMs: 3000 } },
};

/** Serves the test app on a free loopback port, for tests that need real HTTP clients; returns its base URL. */
export async function listen(t: TestContext): Promise<string> {
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}
