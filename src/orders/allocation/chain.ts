import type { DecisionReason, InventoryPolicy } from "../../db/schema.js";
import type { FreeStock } from "../../inventory/plan.js";
import type { LocationRef, StockItem } from "../../inventory/refs.js";
import { levelKey } from "../../inventory/stock.js";

/**
 * Allocation decides where an order's units come from, as a pure function of
 * the free stock seen (read under row locks, so the decision holds). It is a
 * chain of small rules; each looks at what is still unplaced and may place
 * some of it, with its reasons. The chain is data: a shop can put its own
 * rules in it.
 */

export interface LineNeed {
  lineNo: number;
  /** A physical or bundle variant; digital lines need no allocation. */
  item: StockItem;
  /** Line units to place. */
  units: number;
}

export interface AllocationInput {
  lines: LineNeed[];
  free: FreeStock;
  /** Candidate locations (active ones). */
  locations: LocationRef[];
  /** The customer's shipping country. */
  country: string | null;
  /** May the order ship from several locations? */
  allowSplit: boolean;
}

export interface Placement {
  lineNo: number;
  locationId: number;
  units: number;
  reasons: DecisionReason[];
}

export interface ChainState {
  readonly input: AllocationInput;
  /** Candidates in preference order; the first rule usually sets it. */
  ranked: LocationRef[];
  /** Why a location ranks where it does, for the reasons shown to people. */
  notes: Map<number, string>;
  /** Free units left after the placements made so far. */
  free: FreeStock;
  /** Line units still unplaced, by line number. */
  remaining: Map<number, number>;
  placements: Placement[];
  /** Line units left to wait for stock, and line units that can neither be placed nor wait. */
  backordered: Map<number, number>;
  shortfalls: Map<number, number>;
  /** The decision per line, as a whole. */
  lineReasons: Map<number, DecisionReason[]>;
}

export interface AllocationRule {
  name: string;
  apply(state: ChainState): void;
}

export interface AllocationResult {
  placements: Placement[];
  backordered: Map<number, number>;
  shortfalls: Map<number, number>;
  lineReasons: Map<number, DecisionReason[]>;
}

export function runChain(input: AllocationInput, chain: readonly AllocationRule[]): AllocationResult {
  const state: ChainState = {
    input,
    ranked: input.locations.filter((l) => l.active),
    notes: new Map(),
    free: new Map(input.free),
    remaining: new Map(input.lines.filter((l) => l.units > 0).map((l) => [l.lineNo, l.units])),
    placements: [],
    backordered: new Map(),
    shortfalls: new Map(),
    lineReasons: new Map(),
  };
  for (const rule of chain) {
    if (unplacedUnits(state) === 0) break;
    rule.apply(state);
  }
  // whatever no rule took is a shortfall: the caller refuses the order
  for (const [lineNo, units] of state.remaining) {
    if (units > 0) state.shortfalls.set(lineNo, (state.shortfalls.get(lineNo) ?? 0) + units);
  }
  return {
    placements: state.placements,
    backordered: state.backordered,
    shortfalls: state.shortfalls,
    lineReasons: state.lineReasons,
  };
}

/* ---- helpers the rules share ---- */

export const partsOf = (item: StockItem) =>
  item.kind === "bundle" ? item.components : [{ variantId: item.id, sku: item.sku, quantity: 1 }];

export function unplacedUnits(state: Pick<ChainState, "remaining">): number {
  let n = 0;
  for (const u of state.remaining.values()) n += u;
  return n;
}

export function lineOf(state: ChainState, lineNo: number): LineNeed {
  return state.input.lines.find((l) => l.lineNo === lineNo)!;
}

/** Whole line units of an item the free map can serve at a location. */
export function unitsAt(free: FreeStock, item: StockItem, locationId: number): number {
  return Math.min(
    ...partsOf(item).map((p) =>
      Math.floor(Math.max(0, free.get(levelKey(p.variantId, locationId)) ?? 0) / p.quantity),
    ),
  );
}

export function policyOf(line: LineNeed): InventoryPolicy {
  return line.item.inventory_policy;
}

export function addReason(state: ChainState, lineNo: number, reason: DecisionReason): void {
  const list = state.lineReasons.get(lineNo) ?? [];
  list.push(reason);
  state.lineReasons.set(lineNo, list);
}

/** Takes units of a line at a location: free stock and the unplaced count go down together. */
export function place(
  state: Pick<ChainState, "free" | "remaining" | "placements">,
  line: LineNeed,
  locationId: number,
  units: number,
  reasons: DecisionReason[],
): void {
  if (units <= 0) return;
  for (const p of partsOf(line.item)) {
    const key = levelKey(p.variantId, locationId);
    state.free.set(key, (state.free.get(key) ?? 0) - units * p.quantity);
  }
  state.remaining.set(line.lineNo, (state.remaining.get(line.lineNo) ?? 0) - units);
  const same = state.placements.find((x) => x.lineNo === line.lineNo && x.locationId === locationId);
  if (same) {
    same.units += units;
    same.reasons.push(...reasons);
  } else state.placements.push({ lineNo: line.lineNo, locationId, units, reasons });
}

/**
 * Fills the unplaced lines from the given locations, in their order: a line
 * comes whole from the first location that has it all, else split over them.
 * Bundle lines go first, as they need several variants in one place.
 */
export function fillFrom(
  state: Pick<ChainState, "free" | "remaining" | "placements" | "input">,
  locations: LocationRef[],
  reasonsFor: (line: LineNeed, location: LocationRef) => DecisionReason[],
): void {
  const lines = [...state.input.lines].sort(
    (a, b) => Number(b.item.kind === "bundle") - Number(a.item.kind === "bundle") || a.lineNo - b.lineNo,
  );
  for (const line of lines) {
    let need = state.remaining.get(line.lineNo) ?? 0;
    if (need <= 0) continue;
    const whole = locations.find((l) => unitsAt(state.free, line.item, l.id) >= need);
    for (const loc of whole ? [whole] : locations) {
      const take = Math.min(need, unitsAt(state.free, line.item, loc.id));
      if (take <= 0) continue;
      place(state, line, loc.id, take, reasonsFor(line, loc));
      need -= take;
      if (need === 0) break;
    }
  }
}

/** A dry run of fillFrom: the units each line would get. */
export function trialFill(state: ChainState, locations: LocationRef[]): Map<number, number> {
  const trial = {
    input: state.input,
    free: new Map(state.free),
    remaining: new Map(state.remaining),
    placements: [] as Placement[],
  };
  fillFrom(trial, locations, () => []);
  const got = new Map<number, number>();
  for (const p of trial.placements) got.set(p.lineNo, (got.get(p.lineNo) ?? 0) + p.units);
  return got;
}
