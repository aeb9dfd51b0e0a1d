import { createHmac, timingSafeEqual } from "node:crypto";

/** `Keel-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export function sign(secret: string, body: string, t: number = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${mac}`;
}

/**
 * Checks a `Keel-Signature` header against the raw body: the HMAC must match
 * (constant-time compare) and `t` be within `toleranceS` of now (replays of an
 * old delivery are refused). Any v1 in the header may match.
 */
export function verify(
  secret: string,
  header: string,
  body: string,
  toleranceS = 300,
  nowS?: number,
): boolean {
  const parts = header.split(",").map((p) => p.trim().split("="));
  const t = Number(parts.find(([k]) => k === "t")?.[1]);
  if (!Number.isInteger(t)) return false;
  const now = nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > toleranceS) return false;
  const expected = Buffer.from(createHmac("sha256", secret).update(`${t}.${body}`).digest("hex"), "utf8");
  return parts
    .filter(([k, v]) => k === "v1" && v !== undefined)
    .some(([, v]) => {
      const given = Buffer.from(v, "utf8");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
