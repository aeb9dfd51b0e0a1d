import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { movingAverage, spreadByValue } from "./costing.js";

describe("landed cost spread by value", () => {
  it("splits in proportion to line value, adding up exactly", () => {
    expect(
      spreadByValue(400, [
        { quantity: 5, unitCost: 1000 },
        { quantity: 5, unitCost: 2000 },
      ]),
    ).toEqual([133, 267]);
    expect(spreadByValue(0, [{ quantity: 1, unitCost: 1 }])).toEqual([0]);
    // lines of no value share by quantity
    expect(
      spreadByValue(10, [
        { quantity: 1, unitCost: 0 },
        { quantity: 4, unitCost: 0 },
      ]),
    ).toEqual([2, 8]);
  });

  it("always adds up to the total, each share within one unit of its exact value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(
          fc.record({
            quantity: fc.integer({ min: 1, max: 1000 }),
            unitCost: fc.integer({ min: 0, max: 100_000 }),
          }),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        (total, lines) => {
          const shares = spreadByValue(total, lines);
          expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
          const values = lines.map((l) => l.quantity * l.unitCost);
          const sum = values.reduce((a, b) => a + b, 0);
          const weights = sum > 0 ? values : lines.map((l) => l.quantity);
          const wsum = weights.reduce((a, b) => a + b, 0);
          shares.forEach((s, i) => {
            expect(s).toBeGreaterThanOrEqual(0);
            expect(Math.abs(s - (total * weights[i]) / wsum)).toBeLessThan(1);
          });
        },
      ),
    );
  });
});

describe("moving average", () => {
  it("weighs the receipt against the stock before it", () => {
    expect(movingAverage(null, 10, 1200, 5)).toBe(1200);
    expect(movingAverage(1000, 0, 1200, 5)).toBe(1200);
    expect(movingAverage(1000, -3, 1200, 5)).toBe(1200);
    expect(movingAverage(1000, 10, 1300, 10)).toBe(1150);
  });

  it("lies between the old average and the receipt cost", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (oldAvg, oldQty, cost, qty) => {
          const avg = movingAverage(oldAvg, oldQty, cost, qty);
          expect(avg).toBeGreaterThanOrEqual(Math.min(oldAvg, cost) - 1e-6);
          expect(avg).toBeLessThanOrEqual(Math.max(oldAvg, cost) + 1e-6);
          // total value is conserved
          expect(avg * (oldQty + qty)).toBeCloseTo(oldAvg * oldQty + cost * qty, 3);
        },
      ),
    );
  });
});
