import { gtinCheckDigit } from "../../catalog/gtin.js";

/**
 * The n-th demo GTIN-13. Prefix 20 is GS1's range for restricted, in-store
 * numbering, so demo barcodes can never collide with a real product's.
 */
export function demoGtin13(n: number): string {
  const body = `20${String(n).padStart(10, "0")}`;
  return body + gtinCheckDigit(body);
}
