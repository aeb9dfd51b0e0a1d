import { execFileSync } from "node:child_process";
import http from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, exited, spawnCli, waitForOutput } from "../../test/cli.js";
import { testDatabase } from "../../test/helpers.js";

/**
 * `keel start --workers 4` behind a round-robin client (every request on a
 * connection of its own, so the cluster hands each to the next worker): the
 * oversell and idempotency results must be those of one process.
 */
let database: Awaited<ReturnType<typeof testDatabase>>;
let child: ReturnType<typeof spawnCli>;
let url: string;
let key: string;

beforeAll(async () => {
  database = await testDatabase();
  child = spawnCli(
    ["start", "--workers", "4"],
    cliEnv({
      DATABASE_URL: database.url,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      KEEL_POOL_SIZE: "8",
    }),
  );
  [, key] = await waitForOutput(child, /^API key: (keel_\S+)$/m, 110_000);
  url = child.out.stdout.match(/ready at (http:\/\/\S+)/)?.[1] as string;
}, 120_000);

afterAll(async () => {
  child.kill("SIGTERM");
  const result = await exited(child);
  expect(result.code, result.stderr.split("\n").slice(-15).join("\n")).toBe(0);
  await database.drop();
});

interface Answer {
  status: number;
  worker: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON replies, read field by field in assertions
  body: any;
}

function request(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${url}${path}`,
      {
        method,
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          ...(payload ? { "content-type": "application/json" } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            worker: String(res.headers["keel-worker"]),
            body: text ? JSON.parse(text) : null,
          }),
        );
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(payload);
  });
}

// biome-ignore lint/suspicious/noExplicitAny: JSON replies, read field by field in assertions
async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

describe("four workers, one database", () => {
  it("sell exactly 10 of 10 units to 200 concurrent buyers spread over the workers", async () => {
    await ok("POST", "/v1/locations", {
      code: "C4",
      name: "C4",
      kind: "warehouse",
      priority: 1,
      country: "DE",
    });
    await ok("POST", "/v1/products", {
      title: "Hot item",
      kind: "physical",
      status: "active",
      variants: [{ sku: "HOT-4W", price: 100, currency: "EUR" }],
    });
    await ok("POST", "/v1/inventory/adjustments", {
      sku: "HOT-4W",
      location: "C4",
      set: 10,
      reason: "initial",
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        request("POST", "/v1/reservations", { lines: [{ sku: "HOT-4W", quantity: 1, location: "C4" }] }),
      ),
    );
    const statuses = answers.reduce<Record<number, number>>((acc, a) => {
      acc[a.status] = (acc[a.status] ?? 0) + 1;
      return acc;
    }, {});
    expect(statuses).toEqual({ 201: 10, 409: 190 });
    expect(new Set(answers.map((a) => a.worker)).size).toBe(4); // every worker took buyers
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const level = await db.query(
      `select il.on_hand, il.reserved from inventory_levels il join variants v on v.id = il.variant_id
       join locations l on l.id = il.location_id where v.sku = 'HOT-4W' and l.code = 'C4'`,
    );
    const ledger = await db.query(
      `select coalesce(sum(m.delta), 0)::int as reserved from inventory_movements m join variants v on v.id = m.variant_id
       where v.sku = 'HOT-4W' and m.bucket = 'reserved'`,
    );
    await db.end();
    expect(level.rows[0]).toEqual({ on_hand: 10, reserved: 10 });
    expect(ledger.rows[0].reserved).toBe(10);
  });

  it("honour one Idempotency-Key sent to all four workers at once: one effect, one answer", async () => {
    await ok("POST", "/v1/products", {
      title: "Keyed item",
      kind: "physical",
      status: "active",
      variants: [{ sku: "KEYED-4W", price: 100, currency: "EUR" }],
    });
    await ok("POST", "/v1/inventory/adjustments", {
      sku: "KEYED-4W",
      location: "C4",
      set: 100,
      reason: "initial",
    });
    const body = { lines: [{ sku: "KEYED-4W", quantity: 3, location: "C4" }] };
    const answers = await Promise.all(
      Array.from({ length: 16 }, () =>
        request("POST", "/v1/reservations", body, { "idempotency-key": "one-key-four-workers" }),
      ),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([201]));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.worker)).size).toBe(4);
    const levels = await ok("GET", "/v1/inventory/levels?sku=KEYED-4W");
    expect(levels.data[0].reserved).toBe(3); // held once
  });

  it("lose no reservation and leave none stuck when one of four workers is killed -9 under load", async () => {
    await ok("POST", "/v1/locations", {
      code: "C4K",
      name: "C4K",
      kind: "warehouse",
      priority: 2,
      country: "DE",
    });
    await ok("POST", "/v1/products", {
      title: "Busy item",
      kind: "physical",
      status: "active",
      variants: [{ sku: "BUSY-4W", price: 100, currency: "EUR" }],
    });
    await ok("POST", "/v1/inventory/adjustments", {
      sku: "BUSY-4W",
      location: "C4K",
      set: 100_000,
      reason: "initial",
    });
    const held: number[] = [];
    let failed = 0;
    let stop = false;
    const buyer = async () => {
      while (!stop) {
        try {
          const r = await request("POST", "/v1/reservations", {
            lines: [{ sku: "BUSY-4W", quantity: 1, location: "C4K" }],
            ttl_seconds: 1,
          });
          if (r.status === 201) held.push(r.body.id);
          else failed++;
        } catch {
          failed++; // a connection the killed worker had: indeterminate, never acknowledged
        }
      }
    };
    const buyers = Array.from({ length: 16 }, buyer);
    await new Promise((r) => setTimeout(r, 1_500));
    // the primary's children that run Keel (cluster workers re-run bin/keel.js)
    const workers = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(child.pid)], {
      encoding: "utf8",
    })
      .split("\n")
      .filter((l) => l.includes("keel.js"))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(workers.length).toBe(4);
    process.kill(workers[0], "SIGKILL");
    await new Promise((r) => setTimeout(r, 2_500));
    stop = true;
    await Promise.all(buyers);
    console.log(`load stopped: ${held.length} held, ${failed} failed`);
    expect(held.length).toBeGreaterThan(50);

    // every acknowledged reservation is stored; after their 1 s TTL the survivors' sweeps end them all
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const stored = await db.query("select count(*)::int as n from reservations where id = any($1)", [held]);
      expect(stored.rows[0].n).toBe(held.length);
      const deadline = Date.now() + 30_000;
      let active = -1;
      while (Date.now() < deadline) {
        const r = await db.query(
          `select count(*)::int as n from reservations r join reservation_lines l on l.reservation_id = r.id
           join variants v on v.id = l.variant_id where v.sku = 'BUSY-4W' and r.status = 'active'`,
        );
        active = r.rows[0].n;
        if (active === 0) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(active).toBe(0);
      const level = await db.query(
        `select il.reserved, (select coalesce(sum(m.delta), 0)::int from inventory_movements m
           where m.variant_id = il.variant_id and m.location_id = il.location_id and m.bucket = 'reserved') as ledger
         from inventory_levels il join variants v on v.id = il.variant_id where v.sku = 'BUSY-4W'`,
      );
      expect(level.rows[0]).toEqual({ reserved: 0, ledger: 0 });
    } finally {
      await db.end();
    }
    console.log(
      `kill -9 under load: ${held.length} reservations acknowledged, ${failed} requests failed or cut`,
    );
  });
});
