import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gtinCheckDigit, gtinProblem, isValidGtin } from "./gtin.js";

describe("GTIN check digits", () => {
  it("accepts published GTIN-8, -12, -13 and -14 examples", () => {
    for (const code of [
      "96385074",
      "73513537",
      "036000291452",
      "4006381333931",
      "5901234123457",
      "10012345678902",
    ]) {
      expect(isValidGtin(code), code).toBe(true);
      expect(gtinProblem(code)).toBeUndefined();
    }
  });

  it("refuses a wrong check digit, other lengths and non-digits", () => {
    expect(isValidGtin("4006381333932")).toBe(false);
    expect(gtinProblem("4006381333932")).toMatch(/expected 1/);
    for (const code of [
      "",
      "1234567",
      "123456789",
      "12345678901",
      "123456789012345",
      "40063813339a1",
      " 4006381333931",
    ]) {
      expect(isValidGtin(code), code).toBe(false);
      expect(gtinProblem(code)).toBeDefined();
    }
  });

  it("any body plus its check digit is valid; changing one digit makes it invalid", () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(7, 11, 12, 13)
          .chain((n) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: n, maxLength: n })),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (body, at, bump) => {
          const code = `${body}${gtinCheckDigit(body)}`;
          expect(isValidGtin(code)).toBe(true);
          const i = at % code.length;
          const changed = `${code.slice(0, i)}${(Number(code[i]) + bump) % 10}${code.slice(i + 1)}`;
          expect(isValidGtin(changed)).toBe(false);
        },
      ),
    );
  });
});
