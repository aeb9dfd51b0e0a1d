import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { startTotpEnrollment } from "../access/mfa.js";
import { inTransaction } from "../db/tx.js";
import { webhookSecrets } from "../integrations/channels/config.js";
import {
  loadSecretKey,
  open,
  openBytes,
  SecretKeyError,
  seal,
  sealBytes,
  secretKeyFrom,
  setSecretKey,
} from "./box.js";
import { sealStoredSecrets } from "./rewrite.js";

const KEY = secretKeyFrom("a test key of at least thirty-two characters");
const OTHER = secretKeyFrom("another key, also thirty-two characters or more");

describe("the secret box", () => {
  it("round-trips, never stores the plaintext, and names a wrong key", () => {
    const sealed = seal("shpat_secret-token", KEY);
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain("shpat_secret-token");
    expect(seal("shpat_secret-token", KEY)).not.toBe(sealed); // a fresh IV every time
    expect(open(sealed, KEY)).toBe("shpat_secret-token");
    expect(seal(sealed, KEY)).toBe(sealed); // sealing twice changes nothing
    expect(() => open(sealed, OTHER)).toThrow(SecretKeyError);
    expect(() => open(sealed, OTHER)).toThrow(/another key \(key id [0-9a-f]{8}\).*KEEL_SECRET/);
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith("AA") ? "BB" : "AA"}`;
    expect(() => open(tampered, KEY)).toThrow(/damaged/);
    expect(open("written before encryption", KEY)).toBe("written before encryption");

    const seed = Buffer.from("0123456789abcdefghij");
    const sealedSeed = sealBytes(seed, KEY);
    expect(sealedSeed.includes(seed)).toBe(false);
    expect(openBytes(sealedSeed, KEY).equals(seed)).toBe(true);
    expect(openBytes(seed, KEY).equals(seed)).toBe(true);
  });

  it("takes KEEL_SECRET, or generates a key file (0600) into the data directory once", () => {
    expect(() => secretKeyFrom("short")).toThrow(/at least 32 characters/);
    expect(
      loadSecretKey({ secret: "a test key of at least thirty-two characters", dataDir: "/nowhere" }).id,
    ).toBe(KEY.id);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-key-"));
    try {
      const first = loadSecretKey({ dataDir: dir });
      const file = path.join(dir, "secret.key");
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(loadSecretKey({ dataDir: dir }).id).toBe(first.id);
      expect(first.source).toBe(file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("secrets in the database", () => {
  let t: TestContext;
  beforeAll(async () => {
    setSecretKey(KEY);
    t = await testApp();
  });
  afterAll(() => t.close());

  it("stores channel credentials and signing secrets encrypted, and the code reads them back", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/channels",
      headers: t.auth,
      payload: {
        code: "enc-shop",
        kind: "shopify",
        name: "Encrypted shop",
        config: { access_token: "shpat_plain_access_token", webhook_secret: "whsec-plain-webhook-secret" },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().config.access_token).toBe("***");
    const row = await sql<{ config: Record<string, string> }>`
      select config from channels where code = 'enc-shop'`.execute(t.db);
    const stored = row.rows[0]?.config as Record<string, string>;
    expect(JSON.stringify(stored)).not.toContain("plain");
    expect(stored.access_token).toMatch(/^enc:v1:/);
    expect(open(stored.access_token as string)).toBe("shpat_plain_access_token");
    expect(webhookSecrets(stored)).toEqual(["whsec-plain-webhook-secret"]);

    // a rotation keeps the previous secret, encrypted too
    const patched = await t.app.inject({
      method: "PATCH",
      url: "/v1/channels/enc-shop",
      headers: t.auth,
      payload: { config: { webhook_secret: "whsec-rotated-webhook-secret" } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const after = (
      await sql<{ config: Record<string, string> }>`
      select config from channels where code = 'enc-shop'`.execute(t.db)
    ).rows[0]?.config as Record<string, string>;
    expect(JSON.stringify(after)).not.toContain("whsec-");
    expect(webhookSecrets(after)).toEqual(["whsec-rotated-webhook-secret", "whsec-plain-webhook-secret"]);
    expect(open(after.access_token as string)).toBe("shpat_plain_access_token");

    const sub = await t.app.inject({
      method: "POST",
      url: "/v1/webhook-subscriptions",
      headers: t.auth,
      payload: { url: "https://example.com/hook", events: ["order.*"], secret: "given-by-the-shop-123" },
    });
    expect(sub.statusCode, sub.body).toBe(201);
    const s = await t.db
      .selectFrom("webhook_subscriptions")
      .select("secret")
      .where("id", "=", sub.json().id)
      .executeTakeFirstOrThrow();
    expect(s.secret).not.toContain("given-by-the-shop");
    expect(open(s.secret)).toBe("given-by-the-shop-123");

    // the database itself refuses a signing secret in plain text
    await expect(
      sql`insert into webhook_subscriptions (url, events, secret) values ('https://x.example', '{a}', 'plain')`.execute(
        t.db,
      ),
    ).rejects.toMatchObject({ code: "23514" });
  });

  it("stores a TOTP seed encrypted from enrolment on", async () => {
    const user = await sql<{ id: number }>`
      insert into users (email, name, password_hash) values ('totp-seal@example.com', 'T', 'x') returning id`.execute(
      t.db,
    );
    const id = user.rows[0]?.id as number;
    const { secret } = await inTransaction(t.db, (tx) => startTotpEnrollment(tx, id));
    const row = await t.db
      .selectFrom("users")
      .select("totp_pending_secret")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    const stored = row.totp_pending_secret as Buffer;
    expect(stored.includes(secret)).toBe(false);
    expect(stored.toString("latin1").startsWith("enc:v1:")).toBe(true);
    expect(openBytes(stored).equals(secret)).toBe(true);
  });

  it("encrypts at start what was stored in plain text before, and refuses to start with another key", async () => {
    // rows from before migration 063: written while the database still took plaintext
    await sql`alter table webhook_subscriptions drop constraint webhook_subscriptions_secret_sealed`.execute(
      t.db,
    );
    const legacy = await sql<{ id: number }>`
      insert into webhook_subscriptions (url, events, secret)
      values ('https://legacy.example', '{order.*}', 'legacy-plain-secret') returning id`.execute(t.db);
    await sql`alter table webhook_subscriptions add constraint webhook_subscriptions_secret_sealed
      check (secret like 'enc:v1:%') not valid`.execute(t.db);
    await sql`insert into channels (code, kind, name, config)
      values ('legacy-woo', 'woocommerce', 'Legacy', ${JSON.stringify({
        base_url: "https://shop.example",
        consumer_key: "ck_abcdefgh12",
        consumer_secret: "cs_legacyplain12",
      })}::jsonb)`.execute(t.db);
    const user = await sql<{ id: number }>`
      insert into users (email, name, password_hash, totp_secret)
      values ('legacy-totp@example.com', 'Legacy', 'x', ${Buffer.from("twenty-byte-seed-abc")}) returning id`.execute(
      t.db,
    );

    expect((await sealStoredSecrets(t.db, KEY)).sealed).toBeGreaterThanOrEqual(3);
    const sub = await t.db
      .selectFrom("webhook_subscriptions")
      .select("secret")
      .where("id", "=", legacy.rows[0]?.id as number)
      .executeTakeFirstOrThrow();
    expect(sub.secret).toMatch(/^enc:v1:/);
    expect(open(sub.secret)).toBe("legacy-plain-secret");
    const woo = (
      await sql<{ config: Record<string, string> }>`
      select config from channels where code = 'legacy-woo'`.execute(t.db)
    ).rows[0]?.config as Record<string, string>;
    expect(woo.consumer_secret).toMatch(/^enc:v1:/);
    expect(woo.consumer_key).toBe("ck_abcdefgh12"); // not a secret: left as it is
    expect(open(woo.consumer_secret as string)).toBe("cs_legacyplain12");
    const u = await t.db
      .selectFrom("users")
      .select("totp_secret")
      .where("id", "=", user.rows[0]?.id as number)
      .executeTakeFirstOrThrow();
    expect(openBytes(u.totp_secret as Buffer).toString()).toBe("twenty-byte-seed-abc");
    const c = await sql<{ convalidated: boolean }>`
      select convalidated from pg_constraint where conname = 'webhook_subscriptions_secret_sealed'`.execute(
      t.db,
    );
    expect(c.rows[0]?.convalidated).toBe(true);
    expect((await sealStoredSecrets(t.db, KEY)).sealed).toBe(0); // nothing left to do

    await expect(sealStoredSecrets(t.db, OTHER)).rejects.toThrow(/encrypted with another key.*KEEL_SECRET/);
  });
});
