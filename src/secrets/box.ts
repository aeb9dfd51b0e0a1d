import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { readConfig } from "../config.js";

/**
 * Secrets at rest (channel credentials, webhook and alert signing secrets,
 * TOTP seeds): AES-256-GCM with a key from KEEL_SECRET, or from a key file
 * generated into the data directory on first use (mode 0600). A sealed value
 * is text, `enc:v1:<key id>:<base64url of iv | tag | ciphertext>`, so it fits
 * the text and jsonb places secrets already live in; the key id names the key
 * it was sealed with, so a wrong key fails with a message saying so rather
 * than as a bad signature somewhere later.
 */

export const SEALED_PREFIX = "enc:v1:";
const KEY_FILE = "secret.key";
const MIN_SECRET_CHARS = 32;

export interface SecretKey {
  id: string;
  key: Buffer;
  /** Where the key came from, for messages. */
  source: string;
}

export class SecretKeyError extends Error {}

/** A key from KEEL_SECRET's text (at least 32 characters; any longer text is fine). */
export function secretKeyFrom(secret: string, source = "KEEL_SECRET"): SecretKey {
  if (secret.length < MIN_SECRET_CHARS) {
    throw new SecretKeyError(
      `${source} must be at least ${MIN_SECRET_CHARS} characters (e.g. the output of \`openssl rand -base64 32\`)`,
    );
  }
  const key = Buffer.from(hkdfSync("sha256", secret, "keel", "secrets at rest v1", 32));
  const id = createHash("sha256").update("keel key id\0").update(key).digest("hex").slice(0, 8);
  return { id, key, source };
}

/**
 * KEEL_SECRET when set; else the key file in `dataDir`, created (32 random
 * bytes, mode 0600) when missing. Two processes creating it at once: the
 * second reads the first one's file.
 */
export function loadSecretKey(opts: { secret?: string; dataDir: string }): SecretKey {
  if (opts.secret) return secretKeyFrom(opts.secret);
  const file = path.join(opts.dataDir, KEY_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    fs.mkdirSync(opts.dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    text = fs.readFileSync(file, "utf8").trim();
  }
  return secretKeyFrom(text, file);
}

let current: SecretKey | undefined;

/** The key this process seals and opens with; `keel start` sets it, else it is loaded on first use. */
export function setSecretKey(key: SecretKey): void {
  current = key;
}

export function secretKey(): SecretKey {
  if (!current) {
    const config = readConfig();
    current = loadSecretKey({ secret: config.secret, dataDir: config.dataDir });
  }
  return current;
}

export const isSealed = (v: unknown): v is string => typeof v === "string" && v.startsWith(SEALED_PREFIX);

/** Seals a secret; an already sealed value is returned as it is. */
export function seal(plain: string, key = secretKey()): string {
  if (isSealed(plain)) return plain;
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.key, iv);
  cipher.setAAD(Buffer.from(key.id));
  const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return `${SEALED_PREFIX}${key.id}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64url")}`;
}

/**
 * The secret itself. A value that is not sealed (written before secrets were
 * encrypted, and not yet rewritten by the start) is returned as it is.
 */
export function open(stored: string, key = secretKey()): string {
  if (!isSealed(stored)) return stored;
  const [id, data] = stored.slice(SEALED_PREFIX.length).split(":");
  if (id !== key.id) {
    throw new SecretKeyError(
      `a secret was encrypted with another key (key id ${id}); this Keel's key (${key.source}) has id ${key.id}: start it with the KEEL_SECRET the data was written with`,
    );
  }
  const raw = Buffer.from(data ?? "", "base64url");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(key.id));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretKeyError(`a secret encrypted with key id ${id} is damaged: it does not decrypt`);
  }
}

/** Binary secrets (TOTP seeds in bytea columns): the sealed text's bytes. */
export function sealBytes(plain: Buffer, key = secretKey()): Buffer {
  return Buffer.from(seal(`b64:${plain.toString("base64")}`, key));
}

export function openBytes(stored: Buffer, key = secretKey()): Buffer {
  const text = stored.subarray(0, SEALED_PREFIX.length).toString("latin1");
  if (text !== SEALED_PREFIX) return stored; // a seed written before encryption
  const plain = open(stored.toString("utf8"), key);
  return Buffer.from(plain.slice(4), "base64");
}
