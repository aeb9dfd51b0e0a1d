import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { offered, type StockPolicy } from "./policy.js";

const policy = fc.record({
  locations: fc.constant(null),
  buffer: fc.integer({ min: 0, max: 10_000 }),
  share_percent: fc.integer({ min: 1, max: 100 }),
  max: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
}) as fc.Arbitrary<StockPolicy>;
// available can be negative when safety stock exceeds free units
const available = fc.integer({ min: -10_000, max: 1_000_000 });

describe("offered quantity", () => {
  it("is an integer, never negative, never above max, never above what is available", () => {
    fc.assert(
      fc.property(policy, available, (p, a) => {
        const o = offered(p, a);
        expect(Number.isInteger(o)).toBe(true);
        expect(o).toBeGreaterThanOrEqual(0);
        if (p.max !== null) expect(o).toBeLessThanOrEqual(p.max);
        expect(o).toBeLessThanOrEqual(Math.max(0, a - p.buffer));
      }),
      { numRuns: 2000 },
    );
  });

  it("is monotone in available", () => {
    fc.assert(
      fc.property(policy, available, fc.integer({ min: 0, max: 100_000 }), (p, a, more) => {
        expect(offered(p, a + more)).toBeGreaterThanOrEqual(offered(p, a));
      }),
      { numRuns: 2000 },
    );
  });

  it("matches the documented formula exactly", () => {
    fc.assert(
      fc.property(policy, available, (p, a) => {
        const raw = Math.floor(((a - p.buffer) * p.share_percent) / 100);
        const expected = Math.max(0, p.max === null ? raw : Math.min(raw, p.max));
        expect(offered(p, a)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
