import { describe, expect, it } from "vitest";
import { DEFAULT_ANOMALY, median, robustVerdict } from "./anomaly.js";

/** Seeded PRNG (mulberry32), so every run sees the same series. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Poisson(λ) by Knuth's method (λ ≤ ~100 here) */
function poisson(r: () => number, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > l);
  return k - 1;
}
/** A daily count series with a weekly pattern: busy Mondays, quiet Sundays. */
const WEEK = [0.6, 1.5, 1.1, 1.0, 1.0, 1.2, 0.8]; // Sunday … Saturday
function series(seed: number, days: number, base: number) {
  const r = rng(seed);
  const values: number[] = [];
  for (let i = 0; i < days; i++) values.push(poisson(r, base * WEEK[i % 7]));
  return values;
}
/** Verdict on day i from the days before it (day 0 is a Sunday). */
const verdictOn = (values: number[], i: number) => robustVerdict(values.slice(0, i), i % 7, values[i]);

describe("robust z-score anomalies", () => {
  it("median is the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("gives no verdict on too short a history", () => {
    expect(robustVerdict([1, 2, 3], 0, 100)).toBeNull();
  });

  it("finds every planted spike and drop, and names the expected band", () => {
    let planted = 0;
    let found = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const base = 20 + (seed % 5) * 15; // 20 … 80 a day
      const values = series(seed, 84, base);
      const day = 60 + (seed % 24);
      const expected = base * WEEK[day % 7];
      // 10σ of Poisson noise up, or (where a drop can be told from noise at all) down to a tenth
      values[day] =
        seed % 2 || expected < 40
          ? Math.round(expected + 10 * Math.sqrt(expected))
          : Math.round(expected * 0.1);
      planted++;
      const v = verdictOn(values, day)!;
      if (v.anomalous) found++;
      expect(v.anomalous, `seed ${seed}: ${JSON.stringify(v)}`).toBe(true);
      expect(v.low).toBeLessThan(expected);
      expect(v.high).toBeGreaterThan(expected);
    }
    expect(found).toBe(planted);
  });

  it("the weekday pattern is not an anomaly: Mondays are busy every week", () => {
    const r = rng(7);
    const values = Array.from({ length: 84 }, (_, i) => (i % 7 === 1 ? 300 : 100) + Math.round(r() * 10));
    for (let i = 28; i < 84; i++) expect(verdictOn(values, i)?.anomalous, `day ${i}`).toBe(false);
    // …but a Monday-sized Tuesday is
    values[79] = 300; // day 79 is a Tuesday
    expect(verdictOn(values, 79)?.anomalous).toBe(true);
  });

  it("false positives on clean noisy series stay below 0.3% of days (measured over 200 seeds)", () => {
    let days = 0;
    let flagged = 0;
    for (let seed = 1000; seed < 1200; seed++) {
      const values = series(seed, 112, 5 + (seed % 10) * 10); // 5 … 95 a day, Poisson noise
      for (let i = DEFAULT_ANOMALY.window; i < values.length; i++) {
        days++;
        if (verdictOn(values, i)?.anomalous) flagged++;
      }
    }
    expect(days).toBe(200 * 56);
    // measured: 0.11% (12 of 11,200 days); Poisson noise alone is ~0.01% beyond 4σ
    expect(flagged / days).toBeLessThan(0.003);
  });

  it("a mostly-zero series is not flagged for a single unit, but is for a burst", () => {
    const values = Array.from({ length: 60 }, (_, i) => (i % 13 === 0 ? 1 : 0));
    expect(robustVerdict(values, 3, 1)?.anomalous).toBe(false);
    expect(robustVerdict(values, 3, 12)?.anomalous).toBe(true);
  });

  it("works on rates with a smaller floor: a cancellation rate jumping from ~2% to 20%", () => {
    const r = rng(3);
    const rates = Array.from({ length: 60 }, () => 0.02 + (r() - 0.5) * 0.01);
    const opts = { ...DEFAULT_ANOMALY, minScale: 0.005, counts: false };
    expect(robustVerdict(rates, 2, 0.021, opts)?.anomalous).toBe(false);
    expect(robustVerdict(rates, 2, 0.2, opts)?.anomalous).toBe(true);
  });
});
