import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distributionPlan, handling, planExceptions } from "../src/db/distribution.js";
import { checkDistributionPlan, type PlanDeparture } from "../src/db/distribution-check.js";
import { createDb, type DB } from "../src/db/pool.js";
import { testDatabase } from "./helpers.js";

// The Citus plan in src/db/distribution.ts held to the schema the migrations build (docs/scaling.md).

let db: DB;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 2);
});

afterAll(async () => {
  await db.destroy();
  await drop();
});

const show = (ds: PlanDeparture[]) => ds.map((d) => `${d.id}: ${d.rule} — ${d.detail}`).join("\n");

describe("the distribution plan against the migrations", () => {
  it("assigns every table, and names no table that does not exist", async () => {
    const departures = await checkDistributionPlan(db);
    const unassigned = departures.filter(
      (d) => d.rule === "table not in the plan" || d.rule === "planned table does not exist",
    );
    expect(unassigned, show(unassigned)).toEqual([]);
  });

  it("places the tables the issue names where it says", () => {
    for (const t of ["inventory_levels", "inventory_movements", "reservation_lines"]) {
      expect(distributionPlan[t]).toEqual({ kind: "distributed", column: "variant_id", group: "variant" });
    }
    expect(distributionPlan.orders).toEqual({ kind: "distributed", column: "id", group: "order" });
    for (const t of [
      "order_lines",
      "order_allocations",
      "fulfillments",
      "fulfillment_lines",
      "order_payments",
    ]) {
      expect(distributionPlan[t]).toEqual({ kind: "distributed", column: "order_id", group: "order" });
    }
    for (const t of ["products", "variants", "bundle_components", "locations", "settings"]) {
      expect(distributionPlan[t]).toEqual({ kind: "reference" });
    }
  });

  it("departs from Citus's rules only where the reviewed exception list says, and each says how", async () => {
    const departures = await checkDistributionPlan(db);
    const unreviewed = departures.filter((d) => !(d.id in planExceptions));
    expect(
      unreviewed,
      `constraints that break the plan and are not in planExceptions:\n${show(unreviewed)}`,
    ).toEqual([]);
    const found = new Set(departures.map((d) => d.id));
    const stale = Object.keys(planExceptions).filter((id) => !found.has(id));
    expect(stale, "exceptions that no longer depart from the plan: remove them").toEqual([]);
    for (const h of Object.values(planExceptions)) expect(handling[h]).toBeTruthy();
    // today's schema: the counts docs/scaling.md states
    const byHandling = Object.values(planExceptions).reduce<Record<string, number>>((acc, h) => {
      acc[h] = (acc[h] ?? 0) + 1;
      return acc;
    }, {});
    expect(byHandling).toEqual({
      widenKey: 18,
      globalUnique: 11,
      missingColumn: 6,
      compositeFk: 5,
      crossGroupFk: 3,
    });
  });

  it("fails when a migration breaks the plan", async () => {
    const rollback = new Error("rollback");
    let departures: PlanDeparture[] = [];
    await db
      .transaction()
      .execute(async (trx) => {
        await sql`create table stock_snapshots (id bigint primary key)`.execute(trx);
        await sql`create unique index order_payments_reference_key on order_payments (reference)`.execute(
          trx,
        );
        await sql`alter table inventory_levels add column last_order_id bigint references orders (id)`.execute(
          trx,
        );
        await sql`alter table products add column first_order_id bigint references orders (id)`.execute(trx);
        await sql`alter table order_timeline add column event_id bigint references outbox_events (id)`.execute(
          trx,
        );
        departures = await checkDistributionPlan(trx);
        throw rollback;
      })
      .catch((err) => {
        if (err !== rollback) throw err;
      });
    const rules = Object.fromEntries(
      departures.filter((d) => !(d.id in planExceptions)).map((d) => [d.id, d.rule]),
    );
    expect(rules).toEqual({
      stock_snapshots: "table not in the plan",
      "order_payments.order_payments_reference_key": "unique key without the distribution column",
      "inventory_levels.inventory_levels_last_order_id_fkey":
        "foreign key between distributed tables not co-located",
      "products.products_first_order_id_fkey": "foreign key from a reference table to a non-reference table",
      "order_timeline.order_timeline_event_id_fkey": "foreign key between distributed tables not co-located",
    });
    // and the rolled-back schema is whole again
    expect((await checkDistributionPlan(db)).filter((d) => !(d.id in planExceptions))).toEqual([]);
  });
});
