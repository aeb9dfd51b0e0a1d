/**
 * Robust z-scores on daily series, for anomaly alerts. For the day looked at,
 * the trailing `window` days before it give the expectation: each weekday's
 * level (the median of that weekday's values over the window, so a series
 * that is busy on Mondays is not anomalous every Monday) and the spread of
 * the window's values around their weekday levels (the median absolute
 * deviation, × 1.4826 to be σ for normal noise). The day's robust z-score is
 * (value − its weekday's level) ÷ spread; |z| above `threshold` is an
 * anomaly. Medians and MAD ignore the outliers they are looking for, so a
 * past spike does not widen the band for ever.
 *
 * A series that is mostly constant has MAD 0; the spread then falls back to
 * the mean absolute deviation (× 1.2533), and never goes below `minScale`
 * (for counts, 1: a day with 1 order more than the usual 0 is not news);
 * for count series it is also never below √expected, Poisson noise — the
 * weekday factors make quiet days' relative noise look smaller than it is.
 */
export interface AnomalyOptions {
  window: number;
  threshold: number;
  /** At least this many days of history in the window, else no verdict. */
  minHistory: number;
  minScale: number;
  /** A count series (orders, units): the spread is never below Poisson noise, √expected. */
  counts: boolean;
  /** Weekday levels only with at least this many of that weekday in the window, else the window's median. */
  minPerWeekday: number;
}

export const DEFAULT_ANOMALY: AnomalyOptions = {
  window: 56,
  threshold: 4,
  minHistory: 21,
  minScale: 1,
  minPerWeekday: 4,
  counts: true,
};

export interface Verdict {
  value: number;
  expected: number;
  low: number;
  high: number;
  z: number;
  anomalous: boolean;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The verdict on `value`, observed on weekday `weekday` (0–6), given the
 * trailing history (oldest first, one value per day, the day before the
 * observed one last; missing days count as 0 for count series, so callers
 * fill them). null when the history is too short.
 */
export function robustVerdict(
  history: number[],
  weekday: number,
  value: number,
  opts: AnomalyOptions = DEFAULT_ANOMALY,
): Verdict | null {
  const h = history.slice(-opts.window);
  if (h.length < opts.minHistory) return null;
  const n = h.length;
  // the weekday of history[i]: the observed day is `weekday`, the day before it weekday − 1, …
  const dayOf = (i: number) => (((weekday - (n - i)) % 7) + 7) % 7;
  const overall = median(h);
  // multiplicative weekday factors: a weekday's median over the window's
  const factor = new Array<number>(7).fill(1);
  if (overall > 0) {
    for (let d = 0; d < 7; d++) {
      const same = h.filter((_, i) => dayOf(i) === d);
      if (same.length >= opts.minPerWeekday) factor[d] = Math.max(median(same), opts.minScale) / overall;
    }
  }
  // the series with the weekly pattern taken out, and its robust level and spread
  const flat = h.map((x, i) => x / factor[dayOf(i)]);
  const level = median(flat);
  const dev = flat.map((x) => Math.abs(x - level));
  const mad = median(dev);
  const spread = mad > 0 ? 1.4826 * mad : 1.2533 * (dev.reduce((a, b) => a + b, 0) / dev.length);
  const expected = level * factor[weekday];
  // counts are at least as noisy as Poisson counts (σ = √mean): a busy day is not news because the
  // window happened to be calm
  const scale = Math.max(
    spread * factor[weekday],
    opts.counts ? Math.sqrt(Math.max(expected, 0)) : 0,
    opts.minScale,
  );
  const z = (value - expected) / scale;
  return {
    value,
    expected: round(expected),
    low: round(expected - opts.threshold * scale),
    high: round(expected + opts.threshold * scale),
    z: round(z),
    anomalous: Math.abs(z) > opts.threshold,
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;
