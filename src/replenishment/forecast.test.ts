import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forecastDemand, mape } from "./forecast.js";
import { inverseNormalCdf } from "./normal.js";

/** A reproducible pseudo-random source (Park–Miller), so the measured error is the same every run. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

/** Gaussian noise by Box–Muller. */
function gaussian(rnd: () => number) {
  return () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
}

const WEEKLY = [1.0, 0.8, 0.9, 1.0, 1.3, 1.8, 1.6]; // Monday … Sunday: weekends sell more

/** 10 weeks of daily sales around `level`, weekly seasonal, with `noise` relative Gaussian noise. */
function series(seed: number, level: number, noise: number, days = 70) {
  const g = gaussian(random(seed));
  return Array.from({ length: days }, (_, i) =>
    Math.max(0, Math.round(level * WEEKLY[i % 7] * (1 + noise * g()))),
  );
}

describe("demand forecast", () => {
  /** Mean forecast MAPE over 30 seeds for 8 weeks of history and the 2 weeks after, and a perfect model's. */
  function measure(level: number, noise: number) {
    const errors: number[] = [];
    const floor: number[] = [];
    const flat: number[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      const y = series(seed * 7919, level, noise);
      const train = y.slice(0, 56);
      const actual = y.slice(56, 70);
      const f = forecastDemand(train, 14);
      expect(f.model).toBe("mstl_ets_weekly");
      errors.push(mape(actual, f.points));
      // knowing the true pattern, only the noise is left
      floor.push(
        mape(
          actual,
          actual.map((_, i) => level * WEEKLY[(56 + i) % 7]),
        ),
      );
      const mean = train.reduce((a, b) => a + b, 0) / train.length;
      flat.push(mape(actual, Array(14).fill(mean)));
    }
    const avg = (a: number[]) => a.reduce((x, v) => x + v, 0) / a.length;
    const m = { mape: avg(errors), worst: Math.max(...errors), floor: avg(floor), flat: avg(flat) };
    const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
    console.info(
      `level ${level}, noise ${noise * 100} %: MAPE ${pct(m.mape)} (worst ${pct(m.worst)}), perfect model ${pct(m.floor)}, flat mean ${pct(m.flat)}`,
    );
    return m;
  }

  it("forecasts 8 weeks of weekly-seasonal sales with 5 % noise to MAPE < 10 % over the next 2 weeks", () => {
    const m = measure(40, 0.05);
    expect(m.mape).toBeLessThan(0.1);
    expect(m.worst).toBeLessThan(0.1);
    // the weekly pattern is what makes it good: a flat average is far worse
    expect(m.flat).toBeGreaterThan(3 * m.mape);
  });

  it("stays within 1.3× of a perfect model's error when the noise is 10 %", () => {
    const m = measure(40, 0.1);
    expect(m.mape).toBeLessThan(1.3 * m.floor);
    expect(m.mape).toBeLessThan(0.12);
  });

  it("estimates σ near the noise it was given", () => {
    const y = series(42, 100, 0.1, 84);
    const f = forecastDemand(y, 7);
    // noise is 10 % of a level between 80 and 180: σ around 12
    expect(f.sigma).toBeGreaterThan(6);
    expect(f.sigma).toBeLessThan(20);
  });

  it("falls back to the mean with little history, and to nothing with none", () => {
    expect(forecastDemand([], 5)).toEqual({
      model: "none",
      points: [0, 0, 0, 0, 0],
      sigma: 0,
      historyDays: 0,
    });
    const short = forecastDemand([2, 4, 6], 2);
    expect(short).toMatchObject({ model: "mean", points: [4, 4], historyDays: 3 });
    expect(short.sigma).toBeCloseTo(2, 9);
    expect(forecastDemand(Array(30).fill(0), 3)).toMatchObject({
      model: "mean",
      points: [0, 0, 0],
      sigma: 0,
    });
  });

  it("never forecasts negative demand, for any non-negative history", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 0, maxLength: 60 }),
        fc.integer({ min: 0, max: 30 }),
        (h, horizon) => {
          const f = forecastDemand(h, horizon);
          expect(f.points).toHaveLength(horizon);
          expect(f.points.every((p) => p >= 0 && Number.isFinite(p))).toBe(true);
          expect(f.sigma >= 0 && Number.isFinite(f.sigma)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("inverse normal CDF", () => {
  it("matches tabulated quantiles", () => {
    const table: [number, number][] = [
      [0.5, 0],
      [0.8, 0.8416212335729143],
      [0.9, 1.2815515655446004],
      [0.95, 1.6448536269514722],
      [0.975, 1.959963984540054],
      [0.99, 2.3263478740408408],
      [0.999, 3.090232306167813],
      [0.001, -3.090232306167813],
    ];
    for (const [p, z] of table) expect(inverseNormalCdf(p)).toBeCloseTo(z, 7);
    expect(() => inverseNormalCdf(1)).toThrow(RangeError);
    expect(() => inverseNormalCdf(0)).toThrow(RangeError);
  });

  it("is increasing and symmetric", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }),
        fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }),
        (a, b) => {
          if (a < b) expect(inverseNormalCdf(a)).toBeLessThanOrEqual(inverseNormalCdf(b));
          expect(inverseNormalCdf(a)).toBeCloseTo(-inverseNormalCdf(1 - a), 6);
        },
      ),
    );
  });
});
