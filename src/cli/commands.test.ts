import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { cliEnv, runCli } from "../../test/cli.js";
import { withDatabase } from "../../test/global-setup.js";

/** The CLI's conventions against a DATABASE_URL: usage errors, clear failures, migrate before use. */
describe("keel usage", () => {
  it("refuses a missing name as a usage error", async () => {
    const cli = await runCli(
      ["api-key", "create"],
      cliEnv({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" }),
    );
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/--name/);
  });

  it("prints help and the version with exit 0, and rejects unknown commands with exit 2", async () => {
    const [help, version, unknown] = await Promise.all([
      runCli(["--help"], cliEnv({})),
      runCli(["--version"], cliEnv({})),
      runCli(["frobnicate"], cliEnv({})),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: keel/);
    expect(help.stdout).toMatch(/doctor/);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe("keel against an empty DATABASE_URL", () => {
  it("asks for migrate first, then migrates, seeds and checks", async () => {
    const adminUrl = inject("adminUrl");
    const name = `keel_cli_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const env = cliEnv({ DATABASE_URL: withDatabase(adminUrl, name) });
    try {
      const refused = await runCli(["doctor"], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^keel: .*run `keel migrate` first\n$/);

      const migrated = await runCli(["migrate"], env);
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toMatch(/applied 003_inventory\.sql/);

      const seeded = await runCli(["seed", "--demo", "--skus", "40"], env);
      expect(seeded.stderr).toBe("");
      expect(seeded.code).toBe(0);
      expect(seeded.stdout).toMatch(/40 SKUs/);

      const doctor = await runCli(["doctor", "--json"], env);
      expect(doctor.code).toBe(0);
      expect(JSON.parse(doctor.stdout)).toMatchObject({ ok: true, drifts: [], violations: [], locations: 3 });
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  it("says which server it could not reach", async () => {
    const cli = await runCli(["doctor"], cliEnv({ DATABASE_URL: "postgres://keel:secret@127.0.0.1:1/keel" }));
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^keel: postgres:\/\/keel:\*\*\*@127\.0\.0\.1:1\/keel: .*ECONNREFUSED/);
    expect(cli.stderr).not.toMatch(/secret/);
  });
});
