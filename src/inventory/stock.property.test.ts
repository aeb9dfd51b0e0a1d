import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, product } from "../../test/shop.js";
import { inTransaction } from "../db/tx.js";
import { DomainError } from "../http/errors.js";
import { adjustStock, moveStock } from "./adjustments.js";
import { auditLedger, reservationsWithinReserved } from "./audit.js";
import { expireReservations, releaseReservation, reserveStock } from "./reservations.js";
import { createTransfer, receiveTransfer } from "./transfers.js";

/**
 * Random sequences of every kind of stock operation; after each step the
 * ledger must equal the balances, no bucket may be negative, on_hand must
 * cover reserved + allocated, reservations must account for the reserved
 * bucket, and physical units may change only through adjustments.
 */
let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "P1", 1);
  await location(t, "P2", 2);
});
afterAll(() => t.close());

const loc = fc.constantFrom("P1", "P2");
const qty = fc.integer({ min: 1, max: 8 });
const op = fc.oneof(
  fc.record({
    kind: fc.constant("adjust" as const),
    loc,
    delta: fc.integer({ min: -6, max: 10 }).filter((d) => d !== 0),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    loc,
    value: fc.integer({ min: 0, max: 15 }),
    bucket: fc.constantFrom("on_hand", "safety_stock"),
  }),
  fc.record({ kind: fc.constant("move" as const), loc, qty, toQuarantine: fc.boolean() }),
  fc.record({ kind: fc.constant("reserve" as const), loc: fc.option(loc), qty, bundle: fc.boolean() }),
  fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("expire" as const) }),
  fc.record({ kind: fc.constant("transfer" as const), from: loc, qty }),
  fc.record({ kind: fc.constant("receive" as const), pick: fc.nat(), qty }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

let run = 0;

async function physicalUnits(sku: string): Promise<number> {
  const r = await sql<{ n: number }>`
    select coalesce(sum(on_hand + incoming + quarantine + damaged), 0)::int as n
    from inventory_levels il join variants v on v.id = il.variant_id where v.sku = ${sku}`.execute(t.db);
  return r.rows[0].n;
}

describe("stock invariants under random operations", () => {
  it("hold after every step of every sequence", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops: Op[]) => {
        run += 1;
        const sku = `PROP-${run}`;
        const kit = `PROP-KIT-${run}`;
        await product(t, [sku]);
        await product(t, [kit], { kind: "bundle", components: [{ sku, quantity: 2 }] });
        // opening stock, so holds and transfers succeed often enough to matter
        await inTransaction(t.db, async (tx) => {
          await adjustStock(tx, { sku, location: "P1", set: 8, reason: "initial" }, "prop");
          await adjustStock(tx, { sku, location: "P2", set: 5, reason: "initial" }, "prop");
        });
        const reservations: number[] = [];
        const transfers: number[] = [];
        let expectedPhysical = 0;
        for (const o of ops) {
          const before = await physicalUnits(sku);
          let adjusted = 0;
          try {
            await inTransaction(t.db, async (tx) => {
              switch (o.kind) {
                case "adjust": {
                  await adjustStock(
                    tx,
                    { sku, location: o.loc, delta: o.delta, reason: "correction" },
                    "prop",
                  );
                  adjusted = o.delta;
                  break;
                }
                case "set": {
                  const ms = await adjustStock(
                    tx,
                    { sku, location: o.loc, set: o.value, bucket: o.bucket as "on_hand", reason: "count" },
                    "prop",
                  );
                  adjusted = o.bucket === "on_hand" ? ms.reduce((s, m) => s + m.delta, 0) : 0;
                  break;
                }
                case "move":
                  await moveStock(
                    tx,
                    {
                      sku,
                      location: o.loc,
                      from: o.toQuarantine ? "on_hand" : "quarantine",
                      to: o.toQuarantine ? "quarantine" : "on_hand",
                      quantity: o.qty,
                      reason: "quality_hold",
                    },
                    "prop",
                  );
                  break;
                case "reserve": {
                  const r = await reserveStock(
                    tx,
                    {
                      lines: [
                        { sku: o.bundle ? kit : sku, quantity: o.qty, ...(o.loc ? { location: o.loc } : {}) },
                      ],
                      ttl_seconds: 600,
                    },
                    "prop",
                  );
                  reservations.push(r.id);
                  break;
                }
                case "release":
                  if (reservations.length)
                    await releaseReservation(tx, reservations[o.pick % reservations.length], "prop");
                  break;
                case "transfer": {
                  const tr = await createTransfer(
                    tx,
                    { from: o.from, to: o.from === "P1" ? "P2" : "P1", lines: [{ sku, quantity: o.qty }] },
                    "prop",
                  );
                  transfers.push(tr.id);
                  break;
                }
                case "receive":
                  if (transfers.length) {
                    await receiveTransfer(
                      tx,
                      transfers[o.pick % transfers.length],
                      { lines: [{ sku, quantity: o.qty }] },
                      "prop",
                    );
                  }
                  break;
              }
            });
          } catch (err) {
            // refusals are fine (not enough stock, over-receipt, already received); anything else is a bug
            if (!(err instanceof DomainError) || err.status >= 500) throw err;
          }
          if (o.kind === "expire") await expireReservations(t.db, { now: new Date(Date.now() + 3600_000) });
          expectedPhysical = before + adjusted;
          expect(await auditLedger(t.db)).toEqual([]);
          expect(await reservationsWithinReserved(t.db)).toEqual([]);
          expect(await physicalUnits(sku)).toBe(expectedPhysical);
          const reservedTotal = await sql<{ held: number; reserved: number }>`
            select (select coalesce(sum(rl.quantity), 0)::int from reservation_lines rl
                     join reservations r on r.id = rl.reservation_id join variants v on v.id = rl.variant_id
                     where r.status = 'active' and v.sku = ${sku}) as held,
                   (select coalesce(sum(reserved), 0)::int from inventory_levels il join variants v on v.id = il.variant_id
                     where v.sku = ${sku}) as reserved`.execute(t.db);
          expect(reservedTotal.rows[0].held).toBe(reservedTotal.rows[0].reserved);
        }
      }),
      { numRuns: 40 },
    );
  });
});
