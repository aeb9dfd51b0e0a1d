import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withDatabase } from "../../test/global-setup.js";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product, stock } from "../../test/shop.js";
import { runDoctor } from "../cli/doctor.js";
import { createDb } from "../db/pool.js";
import {
  installedTools,
  isPgDumpArchive,
  majorOf,
  pgDumpBackup,
  pgRestore,
  pickTool,
  serverMajor,
} from "./pgdump.js";

let t: TestContext;
let dir: string;
const created: string[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-pgdump-"));
  t = await testApp();
  await location(t, "PD", 1);
  await product(t, ["PD-1"]);
  await stock(t, "PD-1", "PD", 1000);
});
afterAll(async () => {
  await t.close();
  const admin = new pg.Client({ connectionString: inject("adminUrl") });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
  await fs.rm(dir, { recursive: true, force: true });
});

const order = (n: number) => ({
  external_id: `pd-${n}`,
  currency: "EUR",
  lines: [{ sku: "PD-1", quantity: 1, unit_price: 1500 }],
  customer: { email: `pd${n}@example.com` },
  shipping_address: { country: "DE" },
});

describe("keel backup with pg_dump (DATABASE_URL)", () => {
  it("picks the newest installed pg_dump, and only one at least as new as the server", () => {
    expect(majorOf("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")).toBe(15);
    expect(majorOf("pg_restore (PostgreSQL) 17.2")).toBe(17);
    expect(majorOf("something else")).toBeUndefined();
    const tools = [
      { path: "/a/pg_dump", major: 17, version: "17" },
      { path: "/b/pg_dump", major: 15, version: "15" },
    ];
    expect(pickTool(tools, 15)?.path).toBe("/a/pg_dump");
    expect(pickTool(tools, 17)?.path).toBe("/a/pg_dump");
    expect(pickTool(tools, 18)).toBeUndefined(); // pg_dump refuses a newer server: the logical backup is used
    expect(pickTool([], 15)).toBeUndefined();
  });

  it("round-trips through pg_dump and pg_restore when a new enough pg_dump is installed (else says why not)", async () => {
    const major = await serverMajor(t.url);
    const installed = await installedTools("pg_dump");
    const tool = pickTool(installed, major);
    if (!tool) {
      // the embedded server is newer than Debian's pg_dump: `keel backup` falls back to the logical one
      expect(installed.every((i) => i.major < major)).toBe(true);
      return;
    }
    for (let i = 1; i <= 10; i++) await ok(t, "POST", "/v1/orders", order(i), 201);
    const file = path.join(dir, "shop.pgdump");
    const seen: number[] = [];
    const dumped = await pgDumpBackup(t.url, file, tool, (done) => seen.push(done));
    await ok(t, "POST", "/v1/orders", order(11), 201); // after the dump: not in it
    expect(dumped.tables).toBeGreaterThan(30);
    expect(seen.length).toBeGreaterThan(30);
    expect(await isPgDumpArchive(file)).toBe(true);

    const admin = new pg.Client({ connectionString: inject("adminUrl") });
    await admin.connect();
    const name = `${inject("templateDb").replace("template", "t")}_pd_${randomBytes(4).toString("hex")}`;
    await admin.query(`create database ${name}`);
    await admin.end();
    created.push(name);
    const target = withDatabase(inject("adminUrl"), name);
    const restoreTool = (await installedTools("pg_restore"))[0];
    const restored = await pgRestore(target, file, restoreTool);
    expect(restored.upgraded).toEqual([]);

    const db = createDb(target, 2);
    try {
      const ids = (await db.selectFrom("orders").select("external_id").execute()).map((r) => r.external_id);
      expect(ids.filter((id) => id?.startsWith("pd-")).sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `pd-${i + 1}`).sort(),
      );
      const report = await runDoctor(db);
      expect(report.drifts).toEqual([]);
      expect(report.violations).toEqual([]);
    } finally {
      await db.destroy();
    }
    // into a database that already holds it: refused whole, nothing changed
    await expect(pgRestore(target, file, restoreTool)).rejects.toThrow(/pg_restore exited/);
  });

  it("does not take a logical backup or garbage for a pg_dump archive", async () => {
    const bogus = path.join(dir, "bogus");
    await fs.writeFile(bogus, "KEEL-BACKUP 1\n");
    expect(await isPgDumpArchive(bogus)).toBe(false);
    expect(await isPgDumpArchive(path.join(dir, "missing"))).toBe(false);
  });
});
