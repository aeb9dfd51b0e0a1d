/**
 * JSON with its large integers kept: Shopify ids (820982911946154508) do not
 * fit a double, and a plain JSON.parse silently rounds them. Integer literals
 * of 16 digits or more become strings before parsing, so ids stay exact;
 * everything else parses as JSON.parse does. Throws SyntaxError like it.
 */
export function parseKeepingIds(text: string): unknown {
  let out = "";
  let i = 0;
  let from = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 /* \ */ ? 2 : 1;
      i++;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n && /[0-9.eE+-]/.test(text[i])) i++;
      const token = text.slice(start, i);
      if (/^-?\d{16,}$/.test(token)) {
        out += `${text.slice(from, start)}"${token}"`;
        from = i;
      }
      continue;
    }
    i++;
  }
  return JSON.parse(out + text.slice(from));
}

/** An id as text, whether the body carried it as a number or a string. */
export function idText(v: unknown): string | null {
  if (typeof v === "string" && v.length > 0) return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}

/** "19.99" in a currency with `exponent` minor digits → 1999; refuses what is not a plain decimal amount. */
export function minorUnits(amount: unknown, exponent: number): number {
  const text = typeof amount === "number" ? String(amount) : amount;
  if (typeof text !== "string" || !/^-?\d+(\.\d+)?$/.test(text.trim()))
    throw new MalformedPayload(`not an amount: ${JSON.stringify(amount)}`);
  const [whole, frac = ""] = text.trim().replace(/^-/, "").split(".");
  const extra = frac.slice(exponent);
  if (/[1-9]/.test(extra)) throw new MalformedPayload(`${text} has more decimals than the currency allows`);
  const value = Number(whole + frac.slice(0, exponent).padEnd(exponent, "0"));
  if (!Number.isSafeInteger(value)) throw new MalformedPayload(`amount too large: ${text}`);
  return text.trim().startsWith("-") ? -value : value;
}

/** Minor digits of a currency (EUR 2, JPY 0, KWD 3), as ISO 4217 and Intl know them. */
export function currencyExponent(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    throw new MalformedPayload(`unknown currency ${JSON.stringify(currency)}`);
  }
}

/** A delivery that cannot be applied as it is: marked failed, with a failure recorded; never retried on its own. */
export class MalformedPayload extends Error {}
