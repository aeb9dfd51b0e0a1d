import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, cliEnv, exited, runCli, spawnCli, waitForOutput } from "../../test/cli.js";

/**
 * `keel start` end to end on its own embedded PostgreSQL in a temporary data
 * directory, as a user runs it: no DATABASE_URL.
 */
let dataDir: string;
let env: NodeJS.ProcessEnv;
const running = new Set<ReturnType<typeof spawnCli>>();

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "keel-start-"));
  await fs.chmod(dataDir, 0o755); // as root, the embedded server runs as `postgres` and must reach it
  env = cliEnv({ KEEL_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" });
});

afterAll(async () => {
  for (const child of running) {
    child.kill("SIGTERM");
    await exited(child);
  }
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ child: ReturnType<typeof spawnCli>; url: string; key: string }> {
  const child = spawnCli(["start"], env);
  running.add(child);
  const [, key] = await waitForOutput(child, /^API key: (keel_\S+)$/m);
  const url = child.out.stdout.match(/ready at (http:\/\/\S+)/)?.[1];
  if (!url) throw new Error(`no URL in:\n${child.out.stdout}`);
  return { child, url, key };
}

async function stop(child: ReturnType<typeof spawnCli>): Promise<CliResult> {
  child.kill("SIGTERM");
  const result = await exited(child);
  running.delete(child);
  return result;
}

/** The postmaster's pid while one runs on the data directory. */
function postmasterPid(): number | undefined {
  const file = path.join(dataDir, "pg", "postmaster.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

describe("keel start", () => {
  it("serves the API with a fresh key, loads the demo shop once, and stops cleanly on SIGTERM", async () => {
    const first = await start();
    expect(first.child.out.stdout).toMatch(/API docs: +http:\/\/127\.0\.0\.1:\d+\/docs/);
    expect(first.child.out.stdout).toContain(dataDir);
    expect(first.child.out.stderr).toMatch(/first run: loading the demo shop/);

    const health = await fetch(`${first.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const events = await fetch(`${first.url}/v1/events`, {
      headers: { authorization: `Bearer ${first.key}` },
    });
    expect(events.status).toBe(200);
    expect((await fetch(`${first.url}/v1/events`)).status).toBe(401);

    // the first start also prints an admin sign-in, which works
    const [, email, password] = /^Admin sign-in: (\S+@\S+) \/ (\S+)$/m.exec(first.child.out.stdout) ?? [];
    expect(email).toBe("admin@keel.local");
    const login = await fetch(`${first.url}/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const me = await fetch(`${first.url}/v1/me`, { headers: { cookie } });
    expect(await me.json()).toMatchObject({ user: { email: "admin@keel.local", roles: ["admin"] } });
    expect(first.child.out.stderr).not.toContain(password);

    // while start runs, other commands attach to its server
    const pid = postmasterPid();
    expect(pid && isAlive(pid)).toBe(true);
    const doctor = await runCli(["doctor"], env);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(/^OK: \d+ stock levels at 3 locations match the ledger/);
    expect(postmasterPid()).toBe(pid); // still the same server

    const stopped = await stop(first.child);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(stopped.stderr).toMatch(/"msg":"stopped"/);
    expect(isAlive(pid!)).toBe(false);
    expect(postmasterPid()).toBeUndefined();

    // nothing runs: doctor starts the server for itself and stops it again
    const alone = await runCli(["doctor"], env);
    expect(alone.code).toBe(0);
    expect(alone.stdout).toMatch(/^OK: /);
    expect(postmasterPid()).toBeUndefined();

    // a second start reuses the data: no second demo load, a new key
    const second = await start();
    expect(second.child.out.stderr).not.toMatch(/loading the demo shop/);
    expect(second.key).not.toBe(first.key);
    expect(second.child.out.stdout).not.toMatch(/Admin sign-in/); // users exist: no second admin
    const again = await fetch(`${second.url}/v1/events`, {
      headers: { authorization: `Bearer ${first.key}` },
    });
    expect(again.status).toBe(200); // keys persist with the data
    expect(await stop(second.child)).toMatchObject({ code: 0, signal: null });
    expect(postmasterPid()).toBeUndefined();
  });
});
