import { sql } from "kysely";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { expectLedgerConsistent, location, product } from "../../test/shop.js";
import { dailySales, dailySalesFromLedger, utcToday, withSalesSnapshot } from "./history.js";
import { rollUpSales } from "./rollup.js";
import { catchUpSales, recordSales } from "./testing.js";

let t: TestContext;
let whId: number;

beforeAll(async () => {
  t = await testApp();
  await location(t, "WH");
  await location(t, "SHOP");
  for (const sku of ["CUP", "PLATE", "BOWL", "SPOON"]) await product(t, [sku]);
  whId = (await t.db.selectFrom("locations").select("id").where("code", "=", "WH").executeTakeFirstOrThrow())
    .id;
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

/** sales_daily as [sku, location, day, units], sorted. */
async function rollup() {
  const r = await sql<{ sku: string; location: string; day: string; units: number }>`
    select v.sku, l.code as location, s.day::text as day, s.units from sales_daily s
    join variants v on v.id = s.variant_id join locations l on l.id = s.location_id
    order by 1, 2, 3`.execute(t.db);
  return r.rows;
}

/** The same, summed straight from the ledger. */
async function ledger() {
  const r = await sql<{ sku: string; location: string; day: string; units: number }>`
    select v.sku, l.code as location, ((m.created_at at time zone 'UTC')::date)::text as day, (-sum(m.delta))::int as units
    from inventory_movements m join variants v on v.id = m.variant_id join locations l on l.id = m.location_id
    where m.reason = 'sale' and m.bucket = 'on_hand' and m.delta < 0
    group by 1, 2, 3 order by 1, 2, 3`.execute(t.db);
  return r.rows;
}

async function lastDays() {
  const r = await sql<{ sku: string; location: string; last_day: string }>`
    select v.sku, l.code as location, d.last_day::text as last_day from sales_last_day d
    join variants v on v.id = d.variant_id join locations l on l.id = d.location_id order by 1, 2`.execute(
    t.db,
  );
  return r.rows;
}

const saleCount = async () =>
  (
    await sql<{ n: number }>`select count(*)::int as n from inventory_movements
      where reason = 'sale' and bucket = 'on_hand' and delta < 0`.execute(t.db)
  ).rows[0].n;

describe("sales rollup", () => {
  it("adds sale movements per day, only the new ones on each run, and ignores every other movement", async () => {
    await recordSales(t.db, "CUP", "WH", [
      [3, 2],
      [2, 5],
      [1, 1],
    ]);
    await recordSales(t.db, "CUP", "WH", [[2, 4]], 15); // a second sale the same day
    await recordSales(t.db, "PLATE", "SHOP", [[10, 7]]);
    await catchUpSales(t.db);
    expect(await rollup()).toEqual(await ledger());
    expect((await rollup()).find((r) => r.sku === "CUP" && r.units === 9)).toBeDefined();
    const before = await rollup();

    // nothing new: a run changes nothing
    expect(await rollUpSales(t.db)).toBe(0);
    expect(await rollup()).toEqual(before);

    // new sales land on days already rolled up and on new ones
    await recordSales(t.db, "CUP", "WH", [
      [2, 3],
      [0, 6],
    ]);
    await catchUpSales(t.db);
    const after = await rollup();
    expect(after).toEqual(await ledger());
    const cup = after.filter((r) => r.sku === "CUP").map((r) => r.units);
    expect(cup).toEqual([2, 12, 1, 6]);
    expect(await lastDays()).toEqual([
      { sku: "CUP", location: "WH", last_day: await utcToday(t.db) },
      { sku: "PLATE", location: "SHOP", last_day: expect.any(String) },
    ]);
    // the rollup row moved on with the runs
    const state = await sql<{ runs: number }>`select runs::int as runs from sales_rollup`.execute(t.db);
    expect(state.rows[0].runs).toBeGreaterThanOrEqual(2);
  });

  it("counts every movement once when several runs overlap", async () => {
    const days = Array.from({ length: 40 }, (_, i) => [i, 1 + (i % 4)] as [number, number]);
    await Promise.all([
      recordSales(t.db, "BOWL", "WH", days),
      recordSales(t.db, "SPOON", "WH", days, 9),
      recordSales(t.db, "SPOON", "SHOP", days, 18),
    ]);
    const pending = await sql<{ n: number }>`
      select count(*)::int as n from inventory_movements
      where reason = 'sale' and bucket = 'on_hand' and delta < 0 and txid >= (select horizon from sales_rollup)`.execute(
      t.db,
    );
    // five runs at once, each on its own connection, while more sales are written
    const runs = await Promise.all([
      rollUpSales(t.db),
      rollUpSales(t.db),
      recordSales(t.db, "BOWL", "SHOP", [[1, 3]]).then(() => 0),
      rollUpSales(t.db),
      rollUpSales(t.db),
      rollUpSales(t.db),
    ]);
    let taken = runs.reduce((a, b) => a + b, 0);
    for (;;) {
      const left = await sql<{ n: number }>`
        select count(*)::int as n from inventory_movements
        where reason = 'sale' and bucket = 'on_hand' and txid >= (select horizon from sales_rollup)`.execute(
        t.db,
      );
      if (left.rows[0].n === 0) break;
      taken += await rollUpSales(t.db);
      await new Promise((r) => setTimeout(r, 20));
    }
    // every movement that was waiting, and the one written meanwhile, was taken by exactly one run
    expect(taken).toBe(pending.rows[0].n + 1);
    expect(await rollup()).toEqual(await ledger());
  });

  it("does not skip a movement whose transaction commits after a later-numbered one", async () => {
    const ids = await sql<{ v: number; l: number }>`
      select (select id from variants where sku = 'PLATE') as v, (select id from locations where code = 'WH') as l`.execute(
      t.db,
    );
    const { v, l } = ids.rows[0];
    await catchUpSales(t.db);
    const slow = new pg.Client({ connectionString: t.url });
    await slow.connect();
    try {
      // the slow transaction takes the lower movement id, then waits
      await slow.query("begin");
      const early = await slow.query(
        `insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
         values ($1, $2, 'on_hand', 4, 'receipt', 'test:slow', 'test'), ($1, $2, 'on_hand', -4, 'sale', 'order:slow', 'test')
         returning id`,
        [v, l],
      );
      const late = await sql<{ id: number }>`
        insert into inventory_movements (variant_id, location_id, bucket, delta, reason, reference, actor)
        values (${v}, ${l}, 'on_hand', 2, 'receipt', 'test:fast', 'test'), (${v}, ${l}, 'on_hand', -2, 'sale', 'order:fast', 'test')
        returning id`.execute(t.db);
      expect(late.rows[1].id).toBeGreaterThan(early.rows[1].id);

      // the fast one is committed, but the slow one is still running: the rollup waits for it
      await rollUpSales(t.db);
      const today = await utcToday(t.db);
      const rolled = await sql<{ units: number }>`
        select coalesce(sum(units), 0)::int as units from sales_daily
        where variant_id = ${v} and location_id = ${l} and day = ${today}::date`.execute(t.db);
      expect(rolled.rows[0].units).toBe(0);
      // readers still see the committed sale, through the movements above the horizon
      const seen = await withSalesSnapshot(t.db, async (tx, horizon) =>
        sql<{ units: number }>`select coalesce(-sum(delta), 0)::int as units from inventory_movements
          where variant_id = ${v} and location_id = ${l} and reason = 'sale' and txid >= ${horizon}::xid8`.execute(
          tx,
        ),
      );
      expect(seen.rows[0].units).toBe(2);

      await slow.query("commit");
    } finally {
      await slow.end();
    }
    await catchUpSales(t.db);
    const today = await utcToday(t.db);
    const rolled = await sql<{ units: number }>`
      select units from sales_daily where variant_id = ${v} and location_id = ${l} and day = ${today}::date`.execute(
      t.db,
    );
    expect(rolled.rows[0].units).toBe(6);
    expect(await rollup()).toEqual(await ledger());
    expect(await saleCount()).toBeGreaterThan(0);
  });

  it("reads the same daily history as the ledger before, during and after a rollup", async () => {
    await recordSales(t.db, "CUP", "WH", [
      [30, 2],
      [5, 8],
      [1, 3],
    ]);
    const today = await utcToday(t.db);
    const fromLedger = await dailySalesFromLedger(t.db, whId, 91, today);
    const fromRollup = () =>
      withSalesSnapshot(t.db, (tx, horizon) => dailySales(tx, whId, 91, today, { horizon }));
    // nothing of the new sales rolled up yet
    expect(await fromRollup()).toEqual(fromLedger);
    await catchUpSales(t.db);
    expect(await fromRollup()).toEqual(fromLedger);
    // for some variants only
    const ids = [...fromLedger.keys()].slice(0, 1);
    const some = await withSalesSnapshot(t.db, (tx, horizon) =>
      dailySales(tx, whId, 91, today, { horizon, variantIds: ids }),
    );
    expect([...some.keys()]).toEqual(ids);
    expect(some.get(ids[0])).toEqual(fromLedger.get(ids[0]));
    // a shorter window starts at the first sale inside it
    const short = await withSalesSnapshot(t.db, (tx, horizon) =>
      dailySales(tx, whId, 14, today, { horizon }),
    );
    expect(short).toEqual(await dailySalesFromLedger(t.db, whId, 14, today));
  });
});
