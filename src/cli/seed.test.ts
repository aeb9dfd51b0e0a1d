import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../../test/cli.js";
import { testDatabase } from "../../test/helpers.js";
import { isValidGtin } from "../catalog/gtin.js";
import { migrate } from "../db/migrate.js";
import { createDb, type DB } from "../db/pool.js";
import { buildApp } from "../http/app.js";
import { checkInvariants, checkLedger } from "../inventory/audit.js";
import { SEED_ACTOR, SEED_REFERENCE, seedDemo } from "./seed/index.js";

let database: Awaited<ReturnType<typeof testDatabase>>;
let db: DB;

beforeAll(async () => {
  database = await testDatabase();
  await migrate(database.url); // already migrated from the template: must be a no-op
  db = createDb(database.url, 4);
});
afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const count = async (query: string) =>
  Number((await sql<{ n: number }>`${sql.raw(query)}`.execute(db)).rows[0].n);

describe("keel seed --demo", () => {
  it("loads the demo shop with a ledger that sums to every balance", async () => {
    const result = await seedDemo(db, { skus: 300, activity: false });
    if (result.skipped) throw new Error("seed skipped");
    expect(result).toMatchObject({ locations: 3, skus: 300 });
    expect(result.bundles).toBeGreaterThan(0);
    expect(result.digital).toBeGreaterThan(0);

    expect(await count("select count(*) as n from variants")).toBe(300);
    expect(await count("select count(*) as n from products")).toBe(result.products);
    expect(await count("select count(*) as n from inventory_levels")).toBe(result.levels);
    expect(await count("select count(*) as n from inventory_movements")).toBe(result.movements);
    expect(
      await count(`select count(*) as n from locations
        where (code, kind, priority) in (('WH-EAST', 'warehouse', 1), ('WH-WEST', 'warehouse', 2), ('STORE-1', 'store', 10))`),
    ).toBe(3);
    // only physical variants hold stock; bundles are made of physical variants
    expect(
      await count(`select count(*) as n from inventory_levels l join variants v on v.id = l.variant_id
        where v.kind <> 'physical'`),
    ).toBe(0);
    expect(
      await count(`select count(*) as n from bundle_components c join variants v on v.id = c.component_variant_id
        where v.kind <> 'physical'`),
    ).toBe(0);
    expect(
      await count(`select count(*) as n from products p where p.kind = 'bundle'
        and not exists (select 1 from bundle_components c where c.product_id = p.id)`),
    ).toBe(0);
    // every movement is an opening balance booked by the seed
    expect(
      await count(`select count(*) as n from inventory_movements
        where reason <> 'initial' or actor <> '${SEED_ACTOR}' or reference <> '${SEED_REFERENCE}'`),
    ).toBe(0);
    const barcodes = await sql<{
      barcode: string;
    }>`select barcode from variants where barcode is not null`.execute(db);
    expect(barcodes.rows.length).toBeGreaterThan(0);
    for (const { barcode } of barcodes.rows) expect(isValidGtin(barcode)).toBe(true);

    expect(await checkLedger(db)).toEqual([]);
    expect(await checkInvariants(db)).toEqual([]);
  });

  it("adds suppliers, orders in every state and returns through the services, ledger still sound", async () => {
    const { seedDemoActivity } = await import("./seed/activity.js");
    const activity = await seedDemoActivity(db);
    expect(activity.orders).toBeGreaterThan(8);
    expect(activity.returns).toBe(6);
    const statuses = await sql<{ status: string }>`select distinct status from orders`.execute(db);
    expect(statuses.rows.map((r) => r.status).sort()).toEqual(
      [
        "approved",
        "backordered",
        "cancelled",
        "completed",
        "on_hold",
        "partially_shipped",
        "preparing",
        "received",
        "shipped",
      ].sort(),
    );
    const returnStates = await sql<{ status: string }>`select distinct status from returns`.execute(db);
    expect(returnStates.rows.map((r) => r.status).sort()).toEqual([
      "authorised",
      "closed",
      "inspected",
      "received",
      "rejected",
      "requested",
    ]);
    expect(await count("select count(*) as n from purchase_orders")).toBeGreaterThan(0);
    expect(await checkLedger(db)).toEqual([]);
    expect(await checkInvariants(db)).toEqual([]);
  });

  it("does nothing when the catalogue already has products", async () => {
    const before = await count("select count(*) as n from variants");
    expect(await seedDemo(db, { skus: 50 })).toMatchObject({ skipped: true });
    expect(await count("select count(*) as n from variants")).toBe(before);
  });
});

describe("keel doctor", () => {
  it("finds a balance changed without a movement, and a movement without a balance", async () => {
    const level = await sql<{
      variant_id: number;
      location_id: number;
      on_hand: number;
      sku: string;
      code: string;
    }>`
      select l.variant_id, l.location_id, l.on_hand, v.sku, loc.code
      from inventory_levels l join variants v on v.id = l.variant_id join locations loc on loc.id = l.location_id
      where l.on_hand > 0 order by v.sku, loc.code limit 1`.execute(db);
    const row = level.rows[0];
    await sql`update inventory_levels set on_hand = on_hand + 2
      where variant_id = ${row.variant_id} and location_id = ${row.location_id}`.execute(db);
    // a ledger row for a digital variant, which has no stock level at all
    const digital = await sql<{ id: number; sku: string }>`
      select id, sku from variants where kind = 'digital' order by sku limit 1`.execute(db);
    await sql`insert into inventory_movements (variant_id, location_id, bucket, delta, reason, actor)
      select ${digital.rows[0].id}, id, 'damaged', 1, 'damage', 'test' from locations where code = 'WH-WEST'`.execute(
      db,
    );

    const drifts = await checkLedger(db);
    expect(drifts).toEqual(
      expect.arrayContaining([
        {
          sku: row.sku,
          location: row.code,
          bucket: "on_hand",
          balance: row.on_hand + 2,
          ledgerSum: row.on_hand,
        },
        { sku: digital.rows[0].sku, location: "WH-WEST", bucket: "damaged", balance: 0, ledgerSum: 1 },
      ]),
    );
    expect(drifts).toHaveLength(2);

    const cli = await runCli(["doctor"], cliEnv({ DATABASE_URL: database.url }));
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/SKU\s+LOCATION\s+BUCKET\s+BALANCE\s+LEDGER SUM/);
    expect(cli.stdout).toMatch(
      new RegExp(`${row.sku}\\s+${row.code}\\s+on_hand\\s+${row.on_hand + 2}\\s+${row.on_hand}`),
    );
    expect(cli.stderr).toMatch(/2 balance\(s\) differ from the ledger/);
  });
});

describe("keel api-key create", () => {
  it("prints a key that the API accepts", async () => {
    const cli = await runCli(
      ["api-key", "create", "--name", "ci test"],
      cliEnv({ DATABASE_URL: database.url }),
    );
    expect(cli.code).toBe(0);
    const key = cli.stdout.match(/^API key: (keel_\S+)$/m)?.[1];
    expect(key).toBeDefined();
    const app = await buildApp({ db });
    try {
      const res = await app.inject({
        method: "GET",
        url: "/v1/events",
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
