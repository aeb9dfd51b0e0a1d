import type { LocationRef } from "../../inventory/refs.js";
import {
  type AllocationInput,
  type AllocationResult,
  type AllocationRule,
  addReason,
  type ChainState,
  fillFrom,
  lineOf,
  policyOf,
  runChain,
  trialFill,
  unitsAt,
  unplacedUnits,
} from "./chain.js";

/**
 * Keel's default allocation rules, in the order they run:
 * 1. rank locations: priority first, then those in the customer's country;
 * 2. one location that can ship the whole order;
 * 3. else the fewest shipments that cover what is in stock (only when the
 *    channel allows split shipments);
 * 4. else, when it does not, the one location that covers the most;
 * 5. the rest is backordered when the variant's policy allows it; what is
 *    left after that is a shortfall and the order is refused.
 */

const total = (m: Map<number, number>) => [...m.values()].reduce((s, n) => s + n, 0);

export const rankLocations: AllocationRule = {
  name: "rank_locations",
  apply(state) {
    const country = state.input.country;
    const domestic = (l: LocationRef) => Number(country !== null && l.country === country);
    state.ranked = [...state.ranked].sort(
      (a, b) => a.priority - b.priority || domestic(b) - domestic(a) || a.id - b.id,
    );
    for (const l of state.ranked) {
      state.notes.set(
        l.id,
        `priority ${l.priority}${domestic(l) ? `, in the customer's country ${country}` : ""}`,
      );
    }
  },
};

export const wholeOrderFromOneLocation: AllocationRule = {
  name: "one_location",
  apply(state) {
    const wanted = unplacedUnits(state);
    const loc = state.ranked.find((l) => total(trialFill(state, [l])) === wanted);
    if (!loc) return;
    fillFrom(state, [loc], () => [
      {
        rule: "one_location",
        detail: `${loc.code} can ship the whole order (${state.notes.get(loc.id) ?? ""})`,
      },
    ]);
  },
};

/** Subsets of `items` of size k, in lexicographic (so preference) order. */
function* combinations<T>(items: T[], k: number, start = 0, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === k) {
    yield prefix;
    return;
  }
  for (let i = start; i <= items.length - (k - prefix.length); i++) {
    yield* combinations(items, k, i + 1, [...prefix, items[i]]);
  }
}

/** Locations with stock for something still unplaced, best first; at most 12 are searched. */
function relevantLocations(state: ChainState): LocationRef[] {
  return state.ranked
    .filter((loc) =>
      state.input.lines.some(
        (l) => (state.remaining.get(l.lineNo) ?? 0) > 0 && unitsAt(state.free, l.item, loc.id) > 0,
      ),
    )
    .slice(0, 12);
}

export const fewestShipments: AllocationRule = {
  name: "fewest_shipments",
  apply(state) {
    if (!state.input.allowSplit) return;
    const candidates = relevantLocations(state);
    const reachable = total(trialFill(state, candidates));
    if (reachable === 0) return;
    for (let k = 1; k <= candidates.length; k++) {
      for (const subset of combinations(candidates, k)) {
        if (total(trialFill(state, subset)) < reachable) continue;
        const codes = subset.map((l) => l.code).join(" + ");
        fillFrom(state, subset, (_line, loc) => [
          {
            rule: "fewest_shipments",
            detail:
              k === 1
                ? `${loc.code} ships everything in stock now (${state.notes.get(loc.id) ?? ""})`
                : `split over ${codes}: ${k} shipments, the fewest that cover the order; ${loc.code}: ${state.notes.get(loc.id) ?? ""}`,
          },
        ]);
        return;
      }
    }
  },
};

export const singleLocation: AllocationRule = {
  name: "no_split",
  apply(state) {
    if (state.input.allowSplit) return;
    let best: LocationRef | undefined;
    let bestScore: [number, number] = [0, 0];
    for (const loc of state.ranked) {
      const got = trialFill(state, [loc]);
      // units of lines that cannot wait (policy deny) count first
      const deny = [...got].reduce(
        (s, [lineNo, n]) => s + (policyOf(lineOf(state, lineNo)) === "deny" ? n : 0),
        0,
      );
      const score: [number, number] = [deny, total(got)];
      if (score[0] > bestScore[0] || (score[0] === bestScore[0] && score[1] > bestScore[1])) {
        best = loc;
        bestScore = score;
      }
    }
    if (!best) return;
    const loc = best;
    fillFrom(state, [loc], () => [
      {
        rule: "no_split",
        detail: `the channel ships orders whole: ${loc.code} ships what it has (${state.notes.get(loc.id) ?? ""})`,
      },
    ]);
  },
};

export const backorderRest: AllocationRule = {
  name: "backorder",
  apply(state) {
    for (const [lineNo, units] of state.remaining) {
      if (units <= 0) continue;
      const policy = policyOf(lineOf(state, lineNo));
      if (policy === "deny") {
        addReason(state, lineNo, {
          rule: "shortfall",
          detail: `${units} units are not in stock and the variant's policy is deny`,
        });
        continue;
      }
      state.backordered.set(lineNo, units);
      state.remaining.set(lineNo, 0);
      addReason(state, lineNo, {
        rule: "backorder",
        detail: `${units} units wait for stock (policy ${policy}); they are held when stock arrives, first placed first`,
      });
    }
  },
};

export const DEFAULT_CHAIN: readonly AllocationRule[] = [
  rankLocations,
  wholeOrderFromOneLocation,
  fewestShipments,
  singleLocation,
  backorderRest,
];

export function allocate(input: AllocationInput, chain = DEFAULT_CHAIN): AllocationResult {
  return runChain(input, chain);
}
