import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { inTransaction } from "../db/tx.js";
import { SESSION_COOKIE } from "./sessions.js";
import { fromBase32, STEP_S, totp } from "./totp.js";
import { createUser } from "./users.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await inTransaction(t.db, (tx) =>
    createUser(tx, {
      email: "root@example.com",
      name: "Root",
      roles: ["admin"],
      password: "long admin password",
    }),
  );
});
afterAll(() => t.close());

const login = (extra: Record<string, string> = {}) =>
  t.app.inject({
    method: "POST",
    url: "/v1/auth/login",
    payload: { email: "root@example.com", password: "long admin password", ...extra },
  });

describe("two-factor sign-in (TOTP)", () => {
  it("enrols, confirms, then needs a fresh code at every sign-in; turning it off needs a code", async () => {
    const first = await login();
    const session = {
      cookie: `${SESSION_COOKIE}=${/=([^;]*)/.exec(String(first.headers["set-cookie"]))?.[1]}`,
      "x-csrf-token": first.json().csrf_token as string,
    };
    const start = await t.app.inject({ method: "POST", url: "/v1/me/totp", headers: session });
    expect(start.statusCode).toBe(201);
    const { secret, otpauth_url } = start.json();
    expect(otpauth_url).toContain(`secret=${secret}`);
    const key = fromBase32(secret);
    // still off until confirmed
    expect((await login()).statusCode).toBe(200);

    const wrong = await t.app.inject({
      method: "POST",
      url: "/v1/me/totp/confirm",
      headers: session,
      payload: { code: totp(key, Date.now() + 10 * STEP_S * 1000) },
    });
    expect(wrong.statusCode).toBe(422);
    const t0 = Date.now(); // codes below are from fixed steps, so crossing a step boundary mid-test changes nothing
    const ok = await t.app.inject({
      method: "POST",
      url: "/v1/me/totp/confirm",
      headers: session,
      payload: { code: totp(key, t0) },
    });
    expect(ok.json()).toEqual({ totp_enabled: true });

    const noCode = await login();
    expect(noCode.statusCode).toBe(401);
    expect(noCode.json().code).toBe("totp_required");
    // the confirming code's step is used up; the next step's code (within the drift window) works once
    const next = totp(key, t0 + STEP_S * 1000);
    expect((await login({ totp: totp(key, t0) })).statusCode).toBe(401);
    const signedIn = await login({ totp: next });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json().user.totp_enabled).toBe(true);
    expect((await login({ totp: next })).statusCode).toBe(401); // replay

    const audit = await t.db
      .selectFrom("audit_log")
      .select("after")
      .where("action", "=", "POST /v1/me/totp")
      .execute();
    expect(JSON.stringify(audit)).not.toContain(secret);

    const apiKey = await t.app.inject({ method: "POST", url: "/v1/me/totp", headers: t.auth });
    expect(apiKey.statusCode).toBe(409);
    const badOff = await t.app.inject({
      method: "POST",
      url: "/v1/me/totp/disable",
      headers: session,
      payload: { code: "000000" },
    });
    expect(badOff.statusCode).toBe(422);
    // every code of the drift window is used up now; let time pass (a minute) instead of waiting
    await t.db
      .updateTable("users")
      .set({ totp_last_step: null })
      .where("email", "=", "root@example.com")
      .execute();
    const off = await t.app.inject({
      method: "POST",
      url: "/v1/me/totp/disable",
      headers: session,
      payload: { code: totp(key, Date.now()) },
    });
    expect(off.json()).toEqual({ totp_enabled: false });
    expect((await login()).statusCode).toBe(200);
  });
});
