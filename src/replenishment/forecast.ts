import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { initSync, MSTL } from "@bsull/augurs/mstl";

/**
 * Daily demand forecasts from daily sales.
 *
 * With two weeks of history or more: augurs' MSTL with a 7-day period — the
 * series is split (STL, Loess) into a weekly seasonal pattern and a trend +
 * remainder, the latter forecast by AutoETS exponential smoothing, and the
 * weekly pattern is added back. augurs is Grafana's time-series library (Rust
 * compiled to WebAssembly). Its plain AutoETS has no seasonal models, which is
 * why the weekly seasonality comes from MSTL.
 *
 * σ is the standard deviation of the in-sample one-day errors. With less than
 * two weeks, the mean and standard deviation of the days there are.
 */

let ready = false;
function init(): void {
  if (ready) return;
  const entry = createRequire(import.meta.url).resolve("@bsull/augurs/mstl");
  initSync({ module: readFileSync(path.join(path.dirname(entry), "mstl_bg.wasm")) });
  ready = true;
}

export const WEEK = 7;

export interface DemandForecast {
  model: "mstl_ets_weekly" | "mean" | "none";
  /** Forecast units for each of the next `horizon` days, never below 0. */
  points: number[];
  /** Standard deviation of one day's demand around the forecast. */
  sigma: number;
  historyDays: number;
}

export function forecastDemand(history: number[], horizon: number): DemandForecast {
  const n = history.length;
  if (n === 0) return { model: "none", points: Array(horizon).fill(0), sigma: 0, historyDays: 0 };
  const anySales = history.some((v) => v > 0);
  if (n >= 2 * WEEK && anySales) {
    const fitted = seasonal(history, horizon);
    if (fitted) return { ...fitted, historyDays: n };
  }
  const mean = history.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? history.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : mean;
  return { model: "mean", points: Array(horizon).fill(mean), sigma: Math.sqrt(variance), historyDays: n };
}

function seasonal(history: number[], horizon: number): Omit<DemandForecast, "historyDays"> | undefined {
  init();
  const model = MSTL.ets([WEEK]);
  try {
    model.fit(history);
    const inSample = model.predictInSample().point;
    const ahead = horizon > 0 ? model.predict(horizon).point : [];
    const residuals = history.map((y, i) => y - inSample[i]).filter(Number.isFinite);
    if (residuals.length === 0 || ahead.some((v) => !Number.isFinite(v))) return undefined;
    const sigma = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / residuals.length);
    return { model: "mstl_ets_weekly", points: ahead.map((v) => Math.max(0, v)), sigma };
  } catch {
    return undefined; // a series the model cannot fit: the caller falls back to the mean
  } finally {
    model.free();
  }
}

/** Mean absolute percentage error of a forecast against what happened (days with actual 0 skipped). */
export function mape(actual: number[], forecast: number[]): number {
  const pairs = actual.map((a, i) => [a, forecast[i]]).filter(([a]) => a !== 0);
  return pairs.reduce((s, [a, f]) => s + Math.abs(a - f) / Math.abs(a), 0) / pairs.length;
}
