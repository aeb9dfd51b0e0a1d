/**
 * Order quantities: reorder rules and rounding to what a supplier sells.
 * Pure functions, so they are tested on their own (rounding.test.ts).
 */

/**
 * Rounds a need up to an orderable quantity: at least the minimum order
 * quantity, in whole packs. A need of zero or less orders nothing.
 */
export function roundToOrder(need: number, minOrderQty = 1, packSize = 1): number {
  if (!(need > 0)) return 0;
  // 1e-9: a need of 12.000000001 from floating-point sums is 12, not 13
  const units = Math.max(Math.ceil(need - 1e-9), minOrderQty, 1);
  return Math.ceil(units / packSize) * packSize;
}

export interface RuleSpec {
  kind: "min_max" | "reorder_point";
  reorder_point: number;
  max_quantity: number | null;
  reorder_quantity: number | null;
}

/**
 * Units a rule asks for at a stock position (available + incoming), before
 * rounding to packs:
 * - min/max (Odoo-style): below the minimum, order up to the maximum;
 * - reorder point + quantity: at or below the point, order the reorder
 *   quantity — as many times as it takes to rise above the point.
 */
export function ruleNeed(rule: RuleSpec, position: number): number {
  if (rule.kind === "min_max") {
    return position < rule.reorder_point ? (rule.max_quantity ?? rule.reorder_point) - position : 0;
  }
  const q = rule.reorder_quantity ?? 1;
  if (position > rule.reorder_point) return 0;
  return (Math.floor((rule.reorder_point - position) / q) + 1) * q;
}
