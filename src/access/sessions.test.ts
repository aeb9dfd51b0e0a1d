import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { inTransaction } from "../db/tx.js";
import { SESSION_COOKIE } from "./sessions.js";
import { createUser } from "./users.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await inTransaction(t.db, (tx) =>
    createUser(tx, {
      email: "Ada@Example.com",
      name: "Ada",
      roles: ["warehouse"],
      password: "correct horse battery",
    }),
  );
});
afterAll(() => t.close());

async function login(email: string, password: string, remoteAddress = "127.0.0.1", cookie?: string) {
  return t.app.inject({
    method: "POST",
    url: "/v1/auth/login",
    payload: { email, password },
    remoteAddress,
    headers: cookie ? { cookie } : {},
  });
}

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = String(res.headers["set-cookie"]);
  const token = new RegExp(`${SESSION_COOKIE}=([^;]*)`).exec(set)?.[1];
  return `${SESSION_COOKIE}=${token}`;
}

describe("sign-in and sessions", () => {
  it("signs in with the e-mail in any case and sets a __Host- cookie, Secure, HttpOnly, SameSite=Strict", async () => {
    const res = await login("ada@example.COM", "correct horse battery");
    expect(res.statusCode).toBe(200);
    const set = String(res.headers["set-cookie"]);
    expect(set).toMatch(
      /^__Host-keel_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; Secure; HttpOnly; SameSite=Strict$/,
    );
    const body = res.json();
    expect(body.user).toMatchObject({
      email: "Ada@Example.com",
      name: "Ada",
      roles: ["warehouse"],
      disabled: false,
    });
    expect(body.permissions).toContain("fulfilment:execute");
    expect(body.permissions).not.toContain("users:manage");
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // only the token's hash is stored
    const token = /=([^;]*)/.exec(set)?.[1] as string;
    const stored = await t.db.selectFrom("sessions").select("token_hash").execute();
    expect(stored.some((s) => s.token_hash.toString("base64url") === token)).toBe(false);
    expect(stored.length).toBeGreaterThan(0);
  });

  it("GET /v1/me answers for a session and for an API key; without either it is 401", async () => {
    const res = await login("ada@example.com", "correct horse battery");
    const me = await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: cookieOf(res) } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({
      user: { email: "Ada@Example.com" },
      api_key: null,
      csrf_token: res.json().csrf_token,
    });
    expect(me.json().permissions).toEqual(res.json().permissions);

    const key = await t.app.inject({ method: "GET", url: "/v1/me", headers: t.auth });
    expect(key.json()).toMatchObject({ user: null, api_key: { name: "test" } });
    expect(key.json().permissions).toContain("keys:manage");
    expect(key.json().csrf_token).toBeUndefined();

    expect((await t.app.inject({ method: "GET", url: "/v1/me" })).statusCode).toBe(401);
    const forged = await t.app.inject({
      method: "GET",
      url: "/v1/me",
      headers: { cookie: `${SESSION_COOKIE}=${"A".repeat(43)}` },
    });
    expect(forged.statusCode).toBe(401);
  });

  it("wrong password, unknown e-mail and disabled user all get the same 401", async () => {
    const wrong = await login("ada@example.com", "nope nope nope", "10.0.0.1");
    const unknown = await login("nobody@example.com", "nope nope nope", "10.0.0.1");
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().detail).toBe(unknown.json().detail);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
  });

  it("enforces the session's permissions and CSRF on writes; bearer keys need no CSRF token", async () => {
    const res = await login("ada@example.com", "correct horse battery");
    const cookie = cookieOf(res);
    const csrf = res.json().csrf_token as string;
    // warehouse may read orders, not the audit trail
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: { cookie } })).statusCode).toBe(
      200,
    );
    const audit = await t.app.inject({ method: "GET", url: "/v1/audit", headers: { cookie } });
    expect(audit.statusCode).toBe(403);
    expect(audit.json().code).toBe("forbidden");

    const body = { sku: "NOPE", location: "NOPE", quantity: 1 };
    const noToken = await t.app.inject({
      method: "POST",
      url: "/v1/inventory/transfers",
      headers: { cookie },
      payload: body,
    });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().code).toBe("csrf_failed");
    const badToken = await t.app.inject({
      method: "POST",
      url: "/v1/inventory/transfers",
      headers: { cookie, "x-csrf-token": "x".repeat(43) },
      payload: body,
    });
    expect(badToken.json().code).toBe("csrf_failed");
    const withToken = await t.app.inject({
      method: "POST",
      url: "/v1/inventory/transfers",
      headers: { cookie, "x-csrf-token": csrf },
      payload: body,
    });
    expect(withToken.statusCode).not.toBe(403); // past the guard: the body is what is wrong now
    expect(withToken.statusCode).toBeLessThan(500);

    const bearer = await t.app.inject({
      method: "POST",
      url: "/v1/inventory/transfers",
      headers: t.auth,
      payload: body,
    });
    expect(bearer.statusCode).not.toBe(403);
  });

  it("rotates the session at sign-in and ends it at logout", async () => {
    const first = await login("ada@example.com", "correct horse battery");
    const oldCookie = cookieOf(first);
    const second = await login("ada@example.com", "correct horse battery", "127.0.0.1", oldCookie);
    const newCookie = cookieOf(second);
    expect(newCookie).not.toBe(oldCookie);
    expect(
      (await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: oldCookie } })).statusCode,
    ).toBe(401);
    expect(
      (await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: newCookie } })).statusCode,
    ).toBe(200);

    const out = await t.app.inject({
      method: "POST",
      url: "/v1/auth/logout",
      headers: { cookie: newCookie },
    });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/Max-Age=0/);
    expect(
      (await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: newCookie } })).statusCode,
    ).toBe(401);
  });

  it("ends sessions after the idle timeout and at the absolute expiry", async () => {
    const idle = cookieOf(await login("ada@example.com", "correct horse battery"));
    const absolute = cookieOf(await login("ada@example.com", "correct horse battery"));
    const hash = (c: string) => sql`sha256(convert_to(${c.split("=")[1]}, 'UTF8'))`;
    await sql`update sessions set last_seen_at = now() - interval '61 minutes' where token_hash = ${hash(idle)}`.execute(
      t.db,
    );
    await sql`update sessions set expires_at = now() - interval '1 second' where token_hash = ${hash(absolute)}`.execute(
      t.db,
    );
    expect((await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: idle } })).statusCode).toBe(
      401,
    );
    expect(
      (await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie: absolute } })).statusCode,
    ).toBe(401);
  });

  it("disabling a user ends their sessions at once and refuses their sign-in", async () => {
    const created = await t.app.inject({
      method: "POST",
      url: "/v1/users",
      headers: t.auth,
      payload: { email: "bo@example.com", name: "Bo", roles: ["support"] },
    });
    expect(created.statusCode).toBe(201);
    const { id, password } = created.json();
    expect(password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const cookie = cookieOf(await login("bo@example.com", password));
    expect((await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie } })).statusCode).toBe(200);

    const off = await t.app.inject({
      method: "PATCH",
      url: `/v1/users/${id}`,
      headers: t.auth,
      payload: { disabled: true },
    });
    expect(off.json()).toMatchObject({ disabled: true });
    expect((await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: { cookie } })).statusCode).toBe(
      401,
    );
    expect((await login("bo@example.com", password)).statusCode).toBe(401);
    const audit = await t.db
      .selectFrom("audit_log")
      .select("after")
      .where("action", "=", "POST /v1/users")
      .execute();
    expect(JSON.stringify(audit)).not.toContain(password);
  });

  it("backs off repeated failures per account with 429 and Retry-After, then lets the right password in", async () => {
    await inTransaction(t.db, (tx) =>
      createUser(tx, { email: "cy@example.com", name: "Cy", roles: [], password: "the right one!" }),
    );
    for (let i = 0; i < 6; i++)
      expect((await login("cy@example.com", "wrong guess", `10.1.0.${i}`)).statusCode).toBe(401);
    const limited = await login("cy@example.com", "the right one!", "10.1.1.1");
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(2);
    // not a lockout: once the back-off has passed the right password works, and the count starts afresh
    await sql`update login_failures set blocked_until = now() where key = 'email:cy@example.com'`.execute(
      t.db,
    );
    expect((await login("CY@example.com", "the right one!", "10.1.1.1")).statusCode).toBe(200);
    expect(
      await t.db
        .selectFrom("login_failures")
        .where("key", "=", "email:cy@example.com")
        .select("key")
        .execute(),
    ).toEqual([]);
  });

  it("backs off many failures from one IP across accounts", async () => {
    for (let i = 0; i < 21; i++) {
      expect((await login(`guess${i}@example.com`, "wrong guess", "10.9.9.9")).statusCode).toBe(401);
    }
    const limited = await login("ada@example.com", "correct horse battery", "10.9.9.9");
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBeDefined();
    // another IP is not affected
    expect((await login("ada@example.com", "correct horse battery", "10.9.9.10")).statusCode).toBe(200);
  });
});

describe("idempotency for signed-in users", () => {
  it("replays a write retried with the same Idempotency-Key, scoped to the user", async () => {
    await inTransaction(t.db, (tx) =>
      createUser(tx, { email: "ida@example.com", name: "Ida", roles: ["admin"], password: "ida's password" }),
    );
    const res = await login("ida@example.com", "ida's password", "10.7.7.7");
    const headers = {
      cookie: cookieOf(res),
      "x-csrf-token": res.json().csrf_token,
      "idempotency-key": "click-1",
    };
    const payload = { name: "night_shift", permissions: ["order:read"] };
    const first = await t.app.inject({ method: "POST", url: "/v1/roles", headers, payload });
    expect(first.statusCode).toBe(201);
    const again = await t.app.inject({ method: "POST", url: "/v1/roles", headers, payload });
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(first.json());
    // the same key from an API key is another principal's: it runs (and meets the role that now exists)
    const byKey = await t.app.inject({
      method: "POST",
      url: "/v1/roles",
      headers: { ...t.auth, "idempotency-key": "click-1" },
      payload,
    });
    expect(byKey.statusCode).toBe(409);
    const rows = await t.db
      .selectFrom("idempotency_keys")
      .select(["api_key_id", "user_id"])
      .where("key", "=", "click-1")
      .execute();
    expect(rows).toEqual([{ api_key_id: null, user_id: res.json().user.id }]);
  });
});
