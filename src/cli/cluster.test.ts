import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, exited, spawnCli, waitForOutput } from "../../test/cli.js";
import { testDatabase } from "../../test/helpers.js";

// `keel start --workers 2` on a database of this file's own: two processes on one port.
let database: Awaited<ReturnType<typeof testDatabase>>;
const children = new Set<ReturnType<typeof spawnCli>>();

beforeAll(async () => {
  database = await testDatabase();
});

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGKILL");
    await exited(child);
  }
  await database.drop();
});

/** One request on a connection of its own, so the cluster's round-robin hands each to the next worker. */
function get(url: string, key: string): Promise<{ status: number; worker: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, worker: res.headers["keel-worker"] as string }),
      );
    });
    req.on("error", reject);
  });
}

async function workersAnswering(url: string, key: string, requests = 12): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < requests; i++) {
    const r = await get(`${url}/v1/events?limit=1`, key);
    expect(r.status).toBe(200);
    seen.set(r.worker ?? "none", (seen.get(r.worker ?? "none") ?? 0) + 1);
  }
  return seen;
}

describe("keel start --workers", () => {
  it("serves one port from two workers, replaces one that is killed, and drains both on SIGTERM", async () => {
    const child = spawnCli(
      ["start", "--workers", "2"],
      cliEnv({
        DATABASE_URL: database.url,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        KEEL_POOL_SIZE: "4",
      }),
    );
    children.add(child);
    const [, key] = await waitForOutput(child, /^API key: (keel_\S+)$/m);
    expect(child.out.stdout).toMatch(/Keel is ready at http:\/\/127\.0\.0\.1:\d+ \(\d+ ms\) with 2 workers/);
    const url = child.out.stdout.match(/ready at (http:\/\/\S+)/)?.[1] as string;

    const seen = await workersAnswering(url, key);
    expect([...seen.keys()].sort()).toEqual(["1", "2"]);

    // kill -9 of a worker: the primary starts another in its slot, and both slots answer again
    const ready = child.out.stderr.split("\n").find((l) => l.includes('"workers ready"'));
    const pids = (JSON.parse(ready as string) as { pids: number[] }).pids;
    expect(pids).toHaveLength(2);
    process.kill(pids[0], "SIGKILL");
    const deadline = Date.now() + 30_000;
    let again = new Map<string, number>();
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        again = await workersAnswering(url, key, 6);
      } catch {
        continue; // a connection handed to the dying worker
      }
      if (again.size === 2) break;
    }
    expect([...again.keys()].sort()).toEqual(["1", "2"]);
    expect(child.out.stderr).toMatch(/worker exited: starting another/);

    child.kill("SIGTERM");
    const result = await exited(child);
    children.delete(child);
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stderr.match(/"msg":"stopped"/g)?.length).toBe(3); // two workers and the primary
    for (const pid of pids.slice(1)) expect(() => process.kill(pid, 0)).toThrow();
  });
});
