import { describe, expect, it } from "vitest";
import type { InventoryPolicy } from "../../db/schema.js";
import type { FreeStock } from "../../inventory/plan.js";
import type { LocationRef, StockItem } from "../../inventory/refs.js";
import { levelKey } from "../../inventory/stock.js";
import type { AllocationRule, LineNeed } from "./chain.js";
import { allocate, DEFAULT_CHAIN } from "./rules.js";

/** The default rule chain as a pure function: no database needed. */

const loc = (id: number, code: string, priority: number, country: string | null = null): LocationRef => ({
  id,
  code,
  name: code,
  kind: "warehouse",
  priority,
  country,
  active: true,
});
const A = loc(1, "A", 1, "DE");
const B = loc(2, "B", 2, "FR");
const C = loc(3, "C", 2, "DE");

const item = (id: number, policy: InventoryPolicy = "deny"): StockItem => ({
  id,
  sku: `SKU${id}`,
  kind: "physical",
  status: "active",
  inventory_policy: policy,
  low_stock_threshold: null,
  components: [],
});
const bundle = (id: number, parts: [number, number][]): StockItem => ({
  ...item(id),
  sku: `KIT${id}`,
  kind: "bundle",
  components: parts.map(([variantId, quantity]) => ({ variantId, sku: `SKU${variantId}`, quantity })),
});
const stock = (entries: [number, LocationRef, number][]): FreeStock =>
  new Map(entries.map(([v, l, n]) => [levelKey(v, l.id), n]));
const need = (lineNo: number, it: StockItem, units: number): LineNeed => ({ lineNo, item: it, units });

function run(lines: LineNeed[], free: FreeStock, opts: { country?: string; allowSplit?: boolean } = {}) {
  const r = allocate({
    lines,
    free,
    locations: [B, C, A],
    country: opts.country ?? "DE",
    allowSplit: opts.allowSplit ?? true,
  });
  return {
    placed: r.placements.map((p) => [p.lineNo, [A, B, C].find((l) => l.id === p.locationId)!.code, p.units]),
    rules: [...new Set(r.placements.flatMap((p) => p.reasons.map((x) => x.rule)))],
    backordered: Object.fromEntries(r.backordered),
    shortfalls: Object.fromEntries(r.shortfalls),
  };
}

describe("the default allocation chain", () => {
  it("ships the whole order from the preferred location that has all of it", () => {
    const r = run(
      [need(1, item(10), 2), need(2, item(11), 1)],
      stock([
        [10, A, 5],
        [11, A, 5],
        [10, B, 9],
        [11, B, 9],
      ]),
    );
    expect(r.placed).toEqual([
      [1, "A", 2],
      [2, "A", 1],
    ]);
    expect(r.rules).toEqual(["one_location"]);
  });

  it("breaks a priority tie by the customer's country", () => {
    const free = stock([
      [10, B, 5],
      [10, C, 5],
    ]);
    expect(run([need(1, item(10), 2)], free, { country: "DE" }).placed).toEqual([[1, "C", 2]]);
    expect(run([need(1, item(10), 2)], free, { country: "FR" }).placed).toEqual([[1, "B", 2]]);
  });

  it("prefers one location that has everything over a better-ranked one that has part", () => {
    const r = run(
      [need(1, item(10), 1), need(2, item(11), 1)],
      stock([
        [10, A, 5],
        [10, B, 5],
        [11, B, 5],
      ]),
    );
    expect(r.placed).toEqual([
      [1, "B", 1],
      [2, "B", 1],
    ]);
  });

  it("splits over the fewest locations when no one location has it all, even past the top priority", () => {
    // A (priority 1) has line 1 only; B has line 2; C has lines 1 and 3: B + C is two shipments, A + B + C three
    const free = stock([
      [10, A, 2],
      [11, B, 3],
      [10, C, 2],
      [12, C, 4],
    ]);
    const r = run([need(1, item(10), 2), need(2, item(11), 3), need(3, item(12), 1)], free);
    expect(r.placed).toEqual([
      [1, "C", 2],
      [2, "B", 3],
      [3, "C", 1],
    ]);
    expect(r.rules).toEqual(["fewest_shipments"]);
    expect(r.shortfalls).toEqual({});
  });

  it("uses two locations when two are enough, even if splitting a line over three would also work", () => {
    const free = stock([
      [10, A, 1],
      [10, B, 3],
      [10, C, 2],
      [11, C, 1],
    ]);
    const r = run([need(1, item(10), 3), need(2, item(11), 1)], free);
    const used = new Set(r.placed.map((p) => p[1]));
    expect(used.size).toBe(2);
    expect(used.has("C")).toBe(true);
  });

  it("backorders what is missing when the policy allows, and reports a shortfall when it does not", () => {
    const r = run(
      [need(1, item(10, "backorder"), 5), need(2, item(11), 2)],
      stock([
        [10, A, 2],
        [11, A, 1],
      ]),
    );
    expect(r.placed).toEqual([
      [1, "A", 2],
      [2, "A", 1],
    ]);
    expect(r.backordered).toEqual({ 1: 3 });
    expect(r.shortfalls).toEqual({ 2: 1 });
  });

  it("ships from a single location when the channel does not allow splits, backordering the rest", () => {
    const free = stock([
      [10, A, 1],
      [10, B, 3],
      [11, A, 1],
    ]);
    const lines = [need(1, item(10, "preorder"), 3), need(2, item(11), 1)];
    const r = run(lines, free, { allowSplit: false });
    // A is the only place for the deny line, so it wins although B has more of line 1
    expect(r.placed).toEqual([
      [1, "A", 1],
      [2, "A", 1],
    ]);
    expect(r.rules).toEqual(["no_split"]);
    expect(r.backordered).toEqual({ 1: 2 });
    expect(run(lines, free, { allowSplit: true }).placed).toEqual([
      [1, "B", 3],
      [2, "A", 1],
    ]);
  });

  it("takes a bundle's components from one location, in whole bundle units", () => {
    const kit = bundle(20, [
      [10, 1],
      [11, 2],
    ]);
    const r = run(
      [need(1, kit, 3)],
      stock([
        [10, A, 5],
        [11, A, 3],
        [10, B, 2],
        [11, B, 9],
      ]),
    );
    expect(r.placed).toEqual([
      [1, "A", 1],
      [1, "B", 2],
    ]);
  });

  it("is a chain of rules a shop can extend", () => {
    const onlyFrance: AllocationRule = {
      name: "only_france",
      apply(state) {
        state.ranked = state.ranked.filter((l) => l.country === "FR");
      },
    };
    const r = allocate(
      {
        lines: [need(1, item(10), 1)],
        free: stock([
          [10, A, 5],
          [10, B, 5],
        ]),
        locations: [A, B],
        country: "DE",
        allowSplit: true,
      },
      [DEFAULT_CHAIN[0], onlyFrance, ...DEFAULT_CHAIN.slice(1)],
    );
    expect(r.placements.map((p) => p.locationId)).toEqual([B.id]);
  });
});
