import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withDatabase } from "../../test/global-setup.js";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { sealAudit, verifyAudit } from "../access/audit.js";
import { createDb, type DB } from "../db/pool.js";
import { buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { auditLedger } from "../inventory/audit.js";
import { dumpDatabase } from "./dump.js";
import { restoreDatabase } from "./restore.js";

let t: TestContext;
let dir: string;
const created: string[] = [];

/** A database with nothing in it, named so the test run's cleanup drops it if this file cannot. */
async function emptyDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: inject("adminUrl") });
  await admin.connect();
  const name = `${inject("templateDb").replace("template", "t")}_bk_${randomBytes(4).toString("hex")}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  created.push(name);
  return withDatabase(inject("adminUrl"), name);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-backup-"));
  t = await testApp({ pool: 20 });
  await location(t, "WH1", 1);
  await product(t, ["B-1", "B-2", "B-3"]);
  for (const sku of ["B-1", "B-2", "B-3"]) await stock(t, sku, "WH1", 10_000);
});
afterAll(async () => {
  await t.close();
  const admin = new pg.Client({ connectionString: inject("adminUrl") });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
  await fs.rm(dir, { recursive: true, force: true });
});

let buyer = 0;
const order = () => ({
  currency: "EUR",
  lines: [{ sku: `B-${1 + (buyer % 3)}`, quantity: 1, unit_price: 1500 }],
  customer: { email: `b${++buyer}@example.com`, name: "Buyer" },
  shipping_address: {
    name: "Buyer",
    line1: "Hauptstr. 1",
    city: "Berlin",
    postal_code: "10115",
    country: "DE",
  },
  payment: { status: "paid", amount: 1500 },
});

async function counts(db: DB) {
  const tables = await sql<{ name: string }>`
    select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' and relname <> 'schema_migrations' order by 1`.execute(db);
  const out: Record<string, number> = {};
  for (const { name } of tables.rows) {
    out[name] = Number(
      (await sql<{ n: string }>`select count(*) as n from ${sql.table(name)}`.execute(db)).rows[0]!.n,
    );
  }
  return out;
}

describe("keel backup and restore (logical)", () => {
  it("round-trips a shop taking orders: every order acknowledged before the snapshot, ledger and audit chain intact", async () => {
    for (let i = 0; i < 20; i++) await ok(t, "POST", "/v1/orders", order(), 201);
    // orders keep arriving while the backup runs
    const acknowledged: { id: number; at: number }[] = [];
    let placing = true;
    const load = (async () => {
      while (placing) {
        const res = await t.app.inject({
          method: "POST",
          url: "/v1/orders",
          headers: t.auth,
          payload: order(),
        });
        if (res.statusCode === 201) acknowledged.push({ id: res.json().id, at: Date.now() });
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await sealAudit(t.db);
    const file = path.join(dir, "shop.keel.gz");
    const progress: string[] = [];
    const dumped = await dumpDatabase(t.url, file, {
      keelVersion: "test",
      onProgress: (p) => progress.push(p.table),
    });
    placing = false;
    await load;
    expect(progress.length).toBeGreaterThan(0);
    expect(dumped.manifest.migrations.length).toBeGreaterThan(10);
    expect(dumped.tables.orders).toBeGreaterThanOrEqual(20);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

    const target = await emptyDatabase();
    const restored = await restoreDatabase(target, file);
    expect(restored.tables).toEqual(dumped.tables);
    expect(restored.upgraded).toEqual([]);
    const db = createDb(target, 4);
    try {
      const restoredCounts = await counts(db);
      for (const [name, n] of Object.entries(dumped.tables)) expect(restoredCounts[name], name).toBe(n);
      const snapshot = new Date(dumped.manifest.snapshot_at).getTime();
      const ids = new Set((await db.selectFrom("orders").select("id").execute()).map((r) => Number(r.id)));
      const before = acknowledged.filter((a) => a.at < snapshot);
      for (const a of before) expect(ids.has(a.id), `order ${a.id}`).toBe(true);
      expect(await auditLedger(db)).toEqual([]);
      expect(await verifyAudit(db)).toMatchObject({ ok: true });

      // the restored shop works: a new order gets a fresh id past the restored ones
      const app = await buildApp({ db, logger: false, dispatch: false });
      const { key } = await createApiKey(db, "after restore");
      const res = await app.inject({
        method: "POST",
        url: "/v1/orders",
        headers: { authorization: `Bearer ${key}` },
        payload: order(),
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().id).toBeGreaterThan(Math.max(...ids));
      await app.close();
    } finally {
      await db.destroy();
    }
  });

  it("refuses a database that is not empty, and a truncated file leaves no rows", async () => {
    const file = path.join(dir, "small.keel.gz");
    await dumpDatabase(t.url, file, { keelVersion: "test" });
    await expect(restoreDatabase(t.url, file)).rejects.toThrow(/not empty.*--replace/);

    const whole = await fs.readFile(file);
    const cut = path.join(dir, "cut.keel.gz");
    await fs.writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const target = await emptyDatabase();
    await expect(restoreDatabase(target, cut)).rejects.toThrow();
    const db = createDb(target, 2);
    try {
      // only what its migrations put there: none of the shop's rows
      const c = await counts(db);
      expect([c.orders, c.products, c.inventory_movements, c.audit_log]).toEqual([0, 0, 0, 0]);
    } finally {
      await db.destroy();
    }
    // --replace over what is there: the shop as it was
    const again = await restoreDatabase(target, file, { replace: true });
    expect(again.tables.orders).toBeGreaterThan(0);
  });
});
