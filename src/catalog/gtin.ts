/**
 * GTIN (EAN/UPC) barcodes: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and
 * GTIN-14. The last digit is a GS1 mod-10 check digit over the others.
 */

const GTIN = /^(?:\d{8}|\d{12}|\d{13}|\d{14})$/;

/** The check digit for the digits of a GTIN without its check digit. */
export function gtinCheckDigit(body: string): number {
  let sum = 0;
  // weights 3,1,3,1… from the rightmost digit of the body
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += i % 2 === 0 ? digit * 3 : digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** True for an 8, 12, 13 or 14 digit string whose last digit is the right check digit. */
export function isValidGtin(code: string): boolean {
  if (!GTIN.test(code)) return false;
  return gtinCheckDigit(code.slice(0, -1)) === code.charCodeAt(code.length - 1) - 48;
}

/** Why a barcode is not a GTIN, or undefined when it is one. */
export function gtinProblem(code: string): string | undefined {
  if (!/^\d+$/.test(code)) return "a GTIN has digits only";
  if (!GTIN.test(code)) return "a GTIN has 8, 12, 13 or 14 digits";
  const expected = gtinCheckDigit(code.slice(0, -1));
  if (expected !== code.charCodeAt(code.length - 1) - 48) {
    return `check digit is wrong: expected ${expected} at the end`;
  }
  return undefined;
}
