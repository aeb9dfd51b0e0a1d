import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { createDb, type DB } from "../db/pool.js";
import { type App, buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { PERMISSIONS } from "./permissions.js";
import { BUILT_IN_ROLES } from "./roles.js";

let t: TestContext;
/** A second Keel process on the same database (its own pool, verifier and LISTEN connection). */
let other: { db: DB; app: App };
beforeAll(async () => {
  t = await testApp();
  const db = createDb(t.url, 2);
  other = { db, app: await buildApp({ db, feedIntervalMs: 0, dispatch: false }) };
  await other.app.ready();
});
afterAll(async () => {
  await other.app.close();
  await other.db.destroy();
  await t.close();
});

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("roles", () => {
  it("lists the built-in roles with exactly the matrix's permissions; admin has every permission", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/roles", headers: t.auth });
    expect(res.statusCode).toBe(200);
    const roles = res.json().data as Array<{ name: string; built_in: boolean; permissions: string[] }>;
    for (const [name, def] of Object.entries(BUILT_IN_ROLES)) {
      const role = roles.find((r) => r.name === name);
      expect(role, name).toBeDefined();
      expect(role?.built_in).toBe(true);
      expect(role?.permissions).toEqual([...def.permissions].sort());
    }
    expect(roles.find((r) => r.name === "admin")?.permissions).toEqual(Object.keys(PERMISSIONS).sort());
  });

  it("creates a custom role whose key can do exactly what it names", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/roles",
      headers: t.auth,
      payload: {
        name: "stock_viewer",
        description: "sees stock",
        permissions: ["inventory:read", "catalog:read"],
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      name: "stock_viewer",
      built_in: false,
      permissions: ["catalog:read", "inventory:read"],
    });
    const dup = await t.app.inject({
      method: "POST",
      url: "/v1/roles",
      headers: t.auth,
      payload: { name: "stock_viewer", permissions: ["inventory:read"] },
    });
    expect(dup.statusCode).toBe(409);
    const bad = await t.app.inject({
      method: "POST",
      url: "/v1/roles",
      headers: t.auth,
      payload: { name: "x", permissions: ["orders:everything"] },
    });
    expect(bad.statusCode).toBe(400);

    const key = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: t.auth,
      payload: { name: "viewer", roles: ["stock_viewer"] },
    });
    const headers = bearer(key.json().key);
    expect((await t.app.inject({ method: "GET", url: "/v1/products", headers })).statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers })).statusCode).toBe(403);
  });

  it("no one grants what they do not hold", async () => {
    const { key } = await createApiKey(t.db, "hr", { roles: ["catalog"] });
    await sql`insert into roles (name) values ('key_maker')`.execute(t.db);
    await sql`insert into role_permissions (role_id, permission)
      select id, unnest(array['keys:manage', 'users:manage', 'catalog:read']) from roles where name = 'key_maker'`.execute(
      t.db,
    );
    const maker = await createApiKey(t.db, "maker", { roles: ["key_maker"] });
    const escalate = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: bearer(maker.key),
      payload: { name: "root", roles: ["admin"] },
    });
    expect(escalate.statusCode).toBe(403);
    expect(escalate.json().detail).toMatch(/cannot grant/);
    const fine = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: bearer(maker.key),
      payload: { name: "same", roles: ["key_maker"] },
    });
    expect(fine.statusCode).toBe(201);
    expect((await t.app.inject({ method: "GET", url: "/v1/roles", headers: bearer(key) })).statusCode).toBe(
      403,
    );
  });
});

describe("API keys", () => {
  it("creates a key shown once, lists keys without it, audits without it", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: t.auth,
      payload: { name: "erp", roles: ["integration"] },
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      name: "erp",
      roles: ["integration"],
      expires_at: null,
      revoked_at: null,
    });
    expect(created.key).toMatch(/^keel_[A-Za-z0-9_-]{43}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const list = await t.app.inject({ method: "GET", url: "/v1/api-keys", headers: t.auth });
    expect(JSON.stringify(list.json())).not.toContain(created.key);
    expect(list.json().data.find((k: { id: number }) => k.id === created.id)).toMatchObject({ name: "erp" });
    const audit = await t.db
      .selectFrom("audit_log")
      .select("after")
      .where("action", "=", "POST /v1/api-keys")
      .execute();
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain(created.key);
    const unknownRole = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: t.auth,
      payload: { name: "x", roles: ["wizard"] },
    });
    expect(unknownRole.statusCode).toBe(422);
  });

  it("keys made before roles (createApiKey default) are integration + admin", async () => {
    const me = await t.app.inject({ method: "GET", url: "/v1/me", headers: t.auth });
    expect(me.json().permissions).toEqual(Object.keys(PERMISSIONS).sort());
    const keys = await t.app.inject({ method: "GET", url: "/v1/api-keys", headers: t.auth });
    expect(keys.json().data[0].roles).toEqual(["admin", "integration"]);
  });

  it("revocation holds at once, in this process and in another one that had the key cached", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: t.auth,
      payload: { name: "doomed", roles: ["warehouse"] },
    });
    const { id, key } = res.json();
    // both processes verify and cache the key
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode).toBe(
      200,
    );
    expect(
      (await other.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode,
    ).toBe(200);

    const revoked = await t.app.inject({ method: "DELETE", url: `/v1/api-keys/${id}`, headers: t.auth });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revoked_at).not.toBeNull();
    // this process: the very next request
    const here = await t.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) });
    expect(here.statusCode).toBe(401);
    // the other process: told by NOTIFY, well before its 10 s cache would have expired
    const started = Date.now();
    await until(
      async () =>
        (await other.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode ===
        401,
      5000,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(
      (await t.app.inject({ method: "DELETE", url: "/v1/api-keys/999999", headers: t.auth })).statusCode,
    ).toBe(404);
  });

  it("a change made outside Keel (psql) reaches every process's cache too", async () => {
    const { key, id } = await createApiKey(t.db, "psql-victim", { roles: ["warehouse"] });
    expect(
      (await other.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode,
    ).toBe(200);
    // narrowing the role: warehouse loses nothing here, so take the key's roles away instead
    await sql`delete from api_key_roles where api_key_id = ${id}`.execute(t.db);
    await until(
      async () =>
        (await other.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode ===
        403,
    );
  });

  it("rotation gives a new key with the same roles and revokes the old one at once", async () => {
    const { id, key } = await createApiKey(t.db, "shop", { roles: ["integration"] });
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode).toBe(
      200,
    );
    const rotated = await t.app.inject({ method: "POST", url: `/v1/api-keys/${id}/rotate`, headers: t.auth });
    expect(rotated.statusCode).toBe(201);
    expect(rotated.json()).toMatchObject({
      name: "shop",
      roles: ["integration"],
      replaces: id,
      revoked_at: null,
    });
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: bearer(key) })).statusCode).toBe(
      401,
    );
    const fresh = bearer(rotated.json().key);
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: fresh })).statusCode).toBe(200);
    const twice = await t.app.inject({ method: "POST", url: `/v1/api-keys/${id}/rotate`, headers: t.auth });
    expect(twice.statusCode).toBe(409);
  });

  it("an expiring key works until expires_at and not after", async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: t.auth,
      payload: { name: "temp", roles: ["catalog"], expires_at: soon },
    });
    expect(res.json().expires_at).toBe(soon);
    const headers = bearer(res.json().key);
    expect((await t.app.inject({ method: "GET", url: "/v1/products", headers })).statusCode).toBe(200);
    await sql`update api_keys set expires_at = now() - interval '1 second' where id = ${res.json().id}`.execute(
      t.db,
    );
    await until(
      async () => (await t.app.inject({ method: "GET", url: "/v1/products", headers })).statusCode === 401,
    );
    const past = await t.app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: t.auth,
      payload: { name: "temp", roles: ["catalog"], expires_at: "2020-01-01T00:00:00Z" },
    });
    expect(past.statusCode).toBe(422);
  });
});
