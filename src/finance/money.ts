/**
 * Integer money arithmetic for documents: minor units, BigInt inside so a
 * product of two large amounts never loses a cent, one rounding rule
 * everywhere: half up (amounts here are never negative).
 */

/** round_half_up(a × b / c) for a, b ≥ 0 and c > 0. */
export function mulDiv(a: number, b: number, c: number): number {
  if (c <= 0) throw new Error("mulDiv: divisor must be positive");
  const sign = a < 0 !== b < 0 ? -1n : 1n;
  const n = BigInt(Math.abs(a)) * BigInt(Math.abs(b));
  const d = BigInt(c);
  return Number(sign * ((2n * n + d) / (2n * d)));
}

/**
 * Spreads `total` over weights by largest remainder, so the parts add up to
 * exactly `total`; equal weights when every weight is 0.
 */
export function spread(total: number, weights: number[]): number[] {
  if (weights.length === 0) return [];
  let w = weights.map((x) => Math.max(0, x));
  if (w.every((x) => x === 0)) w = w.map(() => 1);
  const sum = w.reduce((a, b) => a + b, 0);
  const big = w.map((x) => BigInt(total) * BigInt(x));
  const shares = big.map((x) => Number(x / BigInt(sum)));
  const rest = big.map((x, i) => ({ i, r: x % BigInt(sum) }));
  let left = total - shares.reduce((a, b) => a + b, 0);
  rest.sort((a, b) => (b.r > a.r ? 1 : b.r < a.r ? -1 : a.i - b.i));
  for (const { i } of rest) {
    if (left <= 0) break;
    shares[i] += 1;
    left -= 1;
  }
  return shares;
}
