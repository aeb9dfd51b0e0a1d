import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyAbc } from "./abc.js";

describe("ABC classes", () => {
  it("puts the items making the first 80 % of value in A, the next 15 % in B, the rest in C", () => {
    expect(classifyAbc([500, 300, 100, 60, 30, 10, 0])).toEqual(["A", "A", "B", "B", "C", "C", "C"]);
    expect(classifyAbc([1000])).toEqual(["A"]);
    expect(classifyAbc([0, 0])).toEqual(["C", "C"]);
    expect(classifyAbc([])).toEqual([]);
  });

  it("never ranks a more valuable item below a less valuable one", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 50 }), (values) => {
        const sorted = [...values].sort((a, b) => b - a);
        const classes = classifyAbc(sorted);
        for (let i = 1; i < classes.length; i++) expect(classes[i] >= classes[i - 1]).toBe(true);
        if (sorted.some((v) => v > 0)) expect(classes[0]).toBe("A");
      }),
    );
  });
});
