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
  expect(await exited(child)).toMatchObject({ code: 0 });
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
});
