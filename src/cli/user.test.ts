import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../../test/cli.js";
import { type TestContext, testApp } from "../../test/helpers.js";

/** `keel user create` and the break-glass `keel user reset-password`, against a test database. */
let t: TestContext;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  t = await testApp();
  env = cliEnv({ DATABASE_URL: t.url });
});
afterAll(() => t.close());

const login = (email: string, password: string) =>
  t.app.inject({ method: "POST", url: "/v1/auth/login", payload: { email, password } });

describe("keel user", () => {
  it("creates a user with a generated password that signs in with the role's permissions", async () => {
    const cli = await runCli(["user", "create", "--email", "ops@example.com", "--role", "admin"], env);
    expect(cli.code).toBe(0);
    const password = /^Password: (\S+)$/m.exec(cli.stdout)?.[1] as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(cli.stderr).toMatch(/Created user ops@example\.com .* roles admin/);
    const res = await login("ops@example.com", password);
    expect(res.statusCode).toBe(200);
    expect(res.json().permissions).toContain("users:manage");

    const again = await runCli(["user", "create", "--email", "OPS@example.com", "--role", "admin"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);
    const badRole = await runCli(["user", "create", "--email", "x@example.com", "--role", "wizard"], env);
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toMatch(/no role wizard/);
  });

  it("reset-password sets a new password, ends sessions and re-enables with --enable", async () => {
    const created = await runCli(
      ["user", "create", "--email", "lost@example.com", "--role", "support", "--password", "old password 1"],
      env,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(""); // a given password is not printed
    const session = await login("lost@example.com", "old password 1");
    const cookie = String(session.headers["set-cookie"]).split(";")[0] as string;
    const id = session.json().user.id;
    await t.app.inject({
      method: "PATCH",
      url: `/v1/users/${id}`,
      headers: t.auth,
      payload: { disabled: true },
    });

    await t.db
      .updateTable("users")
      .set({ totp_secret: Buffer.alloc(20, 1), totp_enabled_at: new Date() })
      .where("id", "=", id)
      .execute();
    const reset = await runCli(
      ["user", "reset-password", "--email", "LOST@example.com", "--enable", "--clear-totp"],
      env,
    );
    expect(reset.code).toBe(0);
    const password = /^Password: (\S+)$/m.exec(reset.stdout)?.[1] as string;
    expect((await login("lost@example.com", "old password 1")).statusCode).toBe(401);
    expect((await login("lost@example.com", password)).statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/v1/me", headers: { cookie } })).statusCode).toBe(401);

    const unknown = await runCli(["user", "reset-password", "--email", "ghost@example.com"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ghost@example\.com/);
  });

  it("api-key create takes roles", async () => {
    const cli = await runCli(["api-key", "create", "--name", "picker", "--role", "warehouse"], env);
    expect(cli.code).toBe(0);
    const key = /^API key: (\S+)$/m.exec(cli.stdout)?.[1] as string;
    const headers = { authorization: `Bearer ${key}` };
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers })).statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/v1/audit", headers })).statusCode).toBe(403);
  });
});
