import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { roundToOrder, ruleNeed } from "./rounding.js";

describe("rounding to what a supplier sells", () => {
  it("rounds up to the MOQ and whole packs", () => {
    expect(roundToOrder(0, 10, 6)).toBe(0);
    expect(roundToOrder(-3, 10, 6)).toBe(0);
    expect(roundToOrder(17, 10, 6)).toBe(18);
    expect(roundToOrder(4, 10, 6)).toBe(12); // MOQ 10 → two packs of 6
    expect(roundToOrder(12.000000001, 1, 12)).toBe(12);
    expect(roundToOrder(12.01, 1, 12)).toBe(24);
    expect(roundToOrder(0.2)).toBe(1);
  });

  it("is the smallest whole-pack quantity at least the need and the MOQ", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 100_000, noNaN: true }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 144 }),
        (need, moq, pack) => {
          const q = roundToOrder(need, moq, pack);
          expect(q % pack).toBe(0);
          expect(q).toBeGreaterThanOrEqual(moq);
          expect(q).toBeGreaterThanOrEqual(Math.ceil(need - 1e-9));
          // one pack less would be too little
          expect(q - pack < moq || q - pack < Math.ceil(need - 1e-9)).toBe(true);
        },
      ),
    );
  });
});

describe("reorder rules", () => {
  const minMax = { kind: "min_max" as const, reorder_point: 5, max_quantity: 20, reorder_quantity: null };
  const rop = { kind: "reorder_point" as const, reorder_point: 8, max_quantity: null, reorder_quantity: 10 };

  it("min/max: below the minimum, up to the maximum; at or above it, nothing", () => {
    expect(ruleNeed(minMax, 3)).toBe(17);
    expect(ruleNeed(minMax, 5)).toBe(0);
    expect(ruleNeed(minMax, -2)).toBe(22);
    // Odoo's example: min 5, max 20, packs of 6 → 3 on hand orders 17, rounded to 18
    expect(roundToOrder(ruleNeed(minMax, 3), 1, 6)).toBe(18);
  });

  it("reorder point: at or below the point, the reorder quantity as often as it takes", () => {
    expect(ruleNeed(rop, 9)).toBe(0);
    expect(ruleNeed(rop, 8)).toBe(10);
    expect(ruleNeed(rop, 5)).toBe(10);
    expect(ruleNeed(rop, -3)).toBe(20);
  });

  it("always lifts the position above the trigger", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: -100, max: 2000 }),
        fc.integer({ min: 1, max: 50 }),
        (point, extra, qty, position, pack) => {
          const mm = {
            kind: "min_max" as const,
            reorder_point: point,
            max_quantity: point + extra,
            reorder_quantity: null,
          };
          const q1 = roundToOrder(ruleNeed(mm, position), 1, pack);
          if (position < point) expect(position + q1).toBeGreaterThanOrEqual(point + extra);
          else expect(q1).toBe(0);
          const rp = {
            kind: "reorder_point" as const,
            reorder_point: point,
            max_quantity: null,
            reorder_quantity: qty,
          };
          const q2 = ruleNeed(rp, position);
          if (position <= point) {
            expect(position + q2).toBeGreaterThan(point);
            expect(position + q2 - qty).toBeLessThanOrEqual(point);
            expect(q2 % qty).toBe(0);
          } else expect(q2).toBe(0);
        },
      ),
    );
  });
});
