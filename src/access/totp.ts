import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226), written against the RFCs' test
 * vectors: HMAC of the 8-byte big-endian time step, dynamic truncation,
 * `digits` decimal digits. Authenticator apps use SHA-1, 30 s, 6 digits.
 */
export type TotpAlgorithm = "sha1" | "sha256" | "sha512";

export function hotp(secret: Buffer, counter: number, digits = 6, algorithm: TotpAlgorithm = "sha1"): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, secret).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary =
    (((mac[offset] as number) & 0x7f) << 24) |
    ((mac[offset + 1] as number) << 16) |
    ((mac[offset + 2] as number) << 8) |
    (mac[offset + 3] as number);
  return String(binary % 10 ** digits).padStart(digits, "0");
}

export const STEP_S = 30;

export const timeStep = (unixMs: number, stepS = STEP_S): number => Math.floor(unixMs / 1000 / stepS);

export function totp(
  secret: Buffer,
  unixMs: number,
  opts: { digits?: number; algorithm?: TotpAlgorithm; stepS?: number } = {},
): string {
  return hotp(secret, timeStep(unixMs, opts.stepS), opts.digits ?? 6, opts.algorithm ?? "sha1");
}

/**
 * The time step a 6-digit code matches, allowing one step of clock drift
 * either way, or null. Steps at or before `lastUsedStep` are refused, so a
 * code (even one seen over a shoulder) works once.
 */
export function matchTotp(
  secret: Buffer,
  code: string,
  unixMs: number,
  lastUsedStep: number | null,
): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const now = timeStep(unixMs);
  let matched: number | null = null;
  for (const step of [now - 1, now, now + 1]) {
    const ok = timingSafeEqual(Buffer.from(hotp(secret, step)), Buffer.from(code));
    if (ok && (lastUsedStep === null || step > lastUsedStep)) matched ??= step;
  }
  return matched;
}

/** A new 160-bit secret (RFC 4226's recommended length). */
export const newTotpSecret = (): Buffer => randomBytes(20);

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding, as authenticator apps expect. */
export function base32(data: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32(text: string): Buffer {
  const clean = text.replace(/=+$/, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = ALPHABET.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The otpauth:// URI an authenticator app scans (Key Uri Format). */
export function otpauthUri(secret: Buffer, account: string, issuer = "Keel"): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${base32(secret)}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=${STEP_S}`;
}
