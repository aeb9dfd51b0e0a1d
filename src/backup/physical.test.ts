import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDoctor } from "../cli/doctor.js";
import { type EmbeddedServer, startEmbedded } from "../db/embedded.js";
import { migrate } from "../db/migrate.js";
import { createDb, type DB } from "../db/pool.js";
import { type App, buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { isPhysicalBackup, physicalBackup, physicalRestore } from "./physical.js";

/**
 * The physical backup of an embedded server of this test's own, taken while
 * orders are being placed, restored into a new data directory and started:
 * every order acknowledged before pg_backup_stop returned is there, and the
 * stock ledger is intact.
 */
let dir: string;
let server: EmbeddedServer;
let db: DB;
let app: App;
let auth: { authorization: string };

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-physical-"));
  await fs.chmod(dir, 0o755);
  server = await startEmbedded({ dataDir: path.join(dir, "source") });
  await migrate(server.url);
  db = createDb(server.url, 10);
  app = await buildApp({ db, webDist: false });
  await app.ready();
  auth = { authorization: `Bearer ${(await createApiKey(db, "physical")).key}` };
  const post = async (url: string, payload: object) => {
    const res = await app.inject({ method: "POST", url, headers: auth, payload });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  };
  await post("/v1/locations", { code: "PH", name: "PH", kind: "warehouse", priority: 1, country: "DE" });
  await post("/v1/products", {
    title: "Physical",
    kind: "physical",
    status: "active",
    variants: [{ sku: "PH-1", price: 1000, currency: "EUR" }],
  });
  await post("/v1/inventory/adjustments", { sku: "PH-1", location: "PH", set: 1_000_000, reason: "initial" });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await db?.destroy();
  await server?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("keel backup (physical, embedded server)", () => {
  it("restores every order acknowledged before the backup ended, with the ledger intact", async () => {
    const acknowledged: Array<{ id: string; at: number }> = [];
    let placing = true;
    let n = 0;
    const buyer = async () => {
      while (placing) {
        const id = `ph-${++n}`;
        const res = await app.inject({
          method: "POST",
          url: "/v1/orders",
          headers: auth,
          payload: {
            external_id: id,
            currency: "EUR",
            lines: [{ sku: "PH-1", quantity: 1, unit_price: 1000 }],
            customer: { email: "ph@example.org" },
            shipping_address: { country: "DE" },
          },
        });
        if (res.statusCode < 300) acknowledged.push({ id, at: performance.now() });
      }
    };
    const buyers = Array.from({ length: 4 }, buyer);
    await new Promise((r) => setTimeout(r, 500));
    let stoppedAt = Number.POSITIVE_INFINITY;
    const file = path.join(dir, "backup.keel.gz");
    const result = await physicalBackup(server.url, path.join(dir, "source", "pg"), file, {
      keelVersion: "test",
      onStopped: () => {
        stoppedAt = performance.now();
      },
    });
    await new Promise((r) => setTimeout(r, 300)); // orders after the backup: not in it
    placing = false;
    await Promise.all(buyers);
    const before = acknowledged.filter((a) => a.at < stoppedAt).map((a) => a.id);
    expect(before.length).toBeGreaterThan(20);
    expect(acknowledged.length).toBeGreaterThan(before.length);
    expect(result.manifest.migrations.length).toBeGreaterThan(10);
    expect(result.manifest.rows_at_start.orders).toBeGreaterThan(0);
    expect(await isPhysicalBackup(file)).toBe(true);

    // into a new data directory, with the credentials the cluster was made with
    const target = path.join(dir, "restored");
    await fs.mkdir(target, { recursive: true });
    await fs.copyFile(
      path.join(dir, "source", "pg-credentials.json"),
      path.join(target, "pg-credentials.json"),
    );
    const restored = await physicalRestore(file, path.join(target, "pg"));
    expect(restored.stopLsn).toBe(result.stopLsn);
    await expect(physicalRestore(file, path.join(target, "pg"))).rejects.toThrow(/not empty/);

    const copy = await startEmbedded({ dataDir: target });
    const copyDb = createDb(copy.url, 2);
    try {
      const rows = await copyDb.selectFrom("orders").select("external_id").execute();
      const present = new Set(rows.map((r) => r.external_id));
      expect(before.filter((id) => !present.has(id))).toEqual([]);
      const report = await runDoctor(copyDb);
      expect(report.drifts).toEqual([]);
      expect(report.violations).toEqual([]);
    } finally {
      await copyDb.destroy();
      await copy.stop();
    }
  }, 180_000);

  it("refuses a file that is not a physical backup", async () => {
    const bogus = path.join(dir, "bogus.gz");
    await fs.writeFile(bogus, "not gzip at all");
    expect(await isPhysicalBackup(bogus)).toBe(false);
    await expect(physicalRestore(bogus, path.join(dir, "nowhere"))).rejects.toThrow();
  });
});
