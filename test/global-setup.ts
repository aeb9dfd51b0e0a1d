import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { type EmbeddedServer, startEmbedded } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}

/**
 * One PostgreSQL server for the whole run: TEST_DATABASE_URL when given, else a
 * throwaway embedded server. Migrations are applied once to a template
 * database; every test file clones it into a database of its own.
 */
export default async function setup(project: TestProject) {
  let server: EmbeddedServer | undefined;
  let dir: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-test-"));
    await fs.chmod(dir, 0o755);
    server = await startEmbedded({
      dataDir: dir,
      database: "postgres",
      // a throwaway cluster: durability buys nothing here
      settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: 400 },
    });
    adminUrl = server.adminUrl;
  }
  const templateDb = `keel_template_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${templateDb}`);
  await migrate(withDatabase(adminUrl, templateDb));
  project.provide("adminUrl", adminUrl);
  project.provide("templateDb", templateDb);

  return async () => {
    // drop what this run created, including per-file databases left by a crashed worker
    const leftovers = await admin.query(
      "select datname from pg_database where datname = $1 or datname like $2",
      [templateDb, `${templateDb.replace("template", "t")}%`],
    );
    for (const { datname } of leftovers.rows) {
      await admin.query(`drop database if exists ${datname} with (force)`).catch(() => {});
    }
    await admin.end();
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
