import { randomBytes } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";

/**
 * Argon2id at OWASP's parameters (19 MiB, t=2, p=1): about 11 ms per hash on
 * this machine, so ~150 sign-ins a second would saturate 2 cores — the login
 * back-off guards against that too.
 */
const OPTIONS = { algorithm: 2 /* Argon2id */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** ASVS 6.2.1/6.2.9: at least 8 characters; long passphrases allowed. */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 128;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A hash of nothing anyone knows: verified against when the e-mail is unknown, so timing tells nothing. */
let decoy: Promise<string> | undefined;

export async function checkPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    decoy ??= hashPassword(randomBytes(16).toString("hex"));
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

/** A generated password: 22 URL-safe characters, 128 bits from the CSPRNG. */
export function generatePassword(): string {
  return randomBytes(16).toString("base64url");
}
