import { describe, expect, it } from "vitest";
import { base32, fromBase32, hotp, matchTotp, otpauthUri, type TotpAlgorithm, totp } from "./totp.js";

// RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to the hash's length
const SEEDS: Record<TotpAlgorithm, Buffer> = {
  sha1: Buffer.from("12345678901234567890"),
  sha256: Buffer.from("12345678901234567890123456789012"),
  sha512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234"),
};
const VECTORS: Array<[number, string, string, string]> = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

describe("TOTP (RFC 6238)", () => {
  it.each(VECTORS)("T=%i", (t, sha1, sha256, sha512) => {
    expect(totp(SEEDS.sha1, t * 1000, { digits: 8, algorithm: "sha1" })).toBe(sha1);
    expect(totp(SEEDS.sha256, t * 1000, { digits: 8, algorithm: "sha256" })).toBe(sha256);
    expect(totp(SEEDS.sha512, t * 1000, { digits: 8, algorithm: "sha512" })).toBe(sha512);
  });

  it("HOTP matches RFC 4226 Appendix D", () => {
    const want = [
      "755224",
      "287082",
      "359152",
      "969429",
      "338314",
      "254676",
      "287922",
      "162583",
      "399871",
      "520489",
    ];
    expect(want.map((_, i) => hotp(SEEDS.sha1, i))).toEqual(want);
  });

  it("accepts one step of drift, refuses other steps and any step already used", () => {
    const now = 1_700_000_000_000;
    const code = totp(SEEDS.sha1, now);
    const step = Math.floor(now / 30_000);
    expect(matchTotp(SEEDS.sha1, code, now, null)).toBe(step);
    expect(matchTotp(SEEDS.sha1, code, now + 30_000, null)).toBe(step);
    expect(matchTotp(SEEDS.sha1, code, now - 30_000, null)).toBe(step);
    expect(matchTotp(SEEDS.sha1, code, now + 90_000, null)).toBeNull();
    expect(matchTotp(SEEDS.sha1, code, now, step)).toBeNull(); // replay
    expect(matchTotp(SEEDS.sha1, "12345", now, null)).toBeNull();
  });

  it("base32 round-trips (RFC 4648 vectors) and builds an otpauth URI", () => {
    expect(base32(Buffer.from("foobar"))).toBe("MZXW6YTBOI");
    expect(base32(Buffer.from("f"))).toBe("MY");
    expect(fromBase32("MZXW6YTBOI").toString()).toBe("foobar");
    expect(fromBase32("MZXW6===").toString()).toBe("foo");
    expect(otpauthUri(SEEDS.sha1, "a@b.c")).toBe(
      "otpauth://totp/Keel%3Aa%40b.c?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Keel&algorithm=SHA1&digits=6&period=30",
    );
  });
});
