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

  it("sell a bundle exactly as far as its components go, with buyers on every worker", async () => {
    await ok("POST", "/v1/products", {
      title: "Bundle part",
      kind: "physical",
      status: "active",
      variants: [{ sku: "PART-4W", price: 100, currency: "EUR" }],
    });
    await ok("POST", "/v1/products", {
      title: "Pair",
      kind: "bundle",
      status: "active",
      components: [{ sku: "PART-4W", quantity: 2 }],
      variants: [{ sku: "PAIR-4W", price: 180, currency: "EUR" }],
    });
    await ok("POST", "/v1/inventory/adjustments", {
      sku: "PART-4W",
      location: "C4",
      set: 11,
      reason: "initial",
    });
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        request("POST", "/v1/reservations", { lines: [{ sku: "PAIR-4W", quantity: 1, location: "C4" }] }),
      ),
    );
    const held = answers.filter((a) => a.status === 201).length;
    expect(held).toBe(5); // floor(11 / 2)
    expect(answers.filter((a) => a.status === 409).length).toBe(95);
    expect(new Set(answers.map((a) => a.worker)).size).toBe(4);
    const levels = await ok("GET", "/v1/inventory/levels?sku=PART-4W");
    expect(levels.data[0]).toMatchObject({ on_hand: 11, reserved: 10 });
  });

  it("take an order through its lifecycle with every step on the next worker", async () => {
    await ok("POST", "/v1/products", {
      title: "Lifecycle item",
      kind: "physical",
      status: "active",
      variants: [{ sku: "LIFE-4W", price: 1000, currency: "EUR" }],
    });
    await ok("POST", "/v1/inventory/adjustments", {
      sku: "LIFE-4W",
      location: "C4",
      set: 5,
      reason: "initial",
    });
    const workers: string[] = [];
    const step = async (method: string, path: string, body?: unknown) => {
      const res = await request(method, path, body);
      if (res.status >= 300)
        throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
      workers.push(res.worker);
      return res.body;
    };
    const placed = await step("POST", "/v1/orders", {
      currency: "EUR",
      channel: "manual",
      external_id: "life-4w",
      lines: [{ sku: "LIFE-4W", quantity: 2, unit_price: 1000 }],
      customer: { email: "four@example.com", name: "Four Workers" },
      shipping_address: {
        name: "Four",
        line1: "Hauptstr. 1",
        city: "Berlin",
        postal_code: "10115",
        country: "DE",
      },
    });
    expect(placed.status).toBe("approved");
    const f = await step("POST", `/v1/orders/${placed.id}/fulfillments`, {});
    await step("POST", `/v1/fulfillments/${f.id}/pick`);
    await step("POST", `/v1/fulfillments/${f.id}/pack`);
    await step("POST", `/v1/fulfillments/${f.id}/ship`, { carrier: "DHL", tracking_number: "4W" });
    await step("POST", `/v1/fulfillments/${f.id}/deliver`);
    const done = await step("GET", `/v1/orders/${placed.id}`);
    expect(done).toMatchObject({ status: "completed", fulfillment_status: "delivered" });
    const path = done.timeline.map((e: { to: string }) => e.to);
    expect(path).toEqual(
      expect.arrayContaining(["received", "approved", "preparing", "shipped", "completed"]),
    );
    expect(path.at(-1)).toBe("completed");
    expect(new Set(workers).size).toBeGreaterThanOrEqual(3); // the steps really went round the workers
    const levels = await ok("GET", "/v1/inventory/levels?sku=LIFE-4W");
    expect(levels.data[0]).toMatchObject({ on_hand: 3, allocated: 0, reserved: 0 });
  });

  it("deliver each webhook once, in event order, with four workers dispatching", async () => {
    const got: Array<{ id: number; sku: string; on_hand: number }> = [];
    const receiver = http.createServer((req, res) => {
      let text = "";
      req.on("data", (d) => {
        text += d;
      });
      req.on("end", () => {
        const e = JSON.parse(text);
        got.push({ id: e.id, sku: e.data?.sku, on_hand: e.data?.on_hand });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const port = (receiver.address() as { port: number }).port;
    try {
      await ok("POST", "/v1/webhook-subscriptions", {
        url: `http://127.0.0.1:${port}/hook`,
        events: ["inventory.level_changed"],
      });
      await ok("POST", "/v1/products", {
        title: "Hooked item",
        kind: "physical",
        status: "active",
        variants: [{ sku: "HOOK-4W", price: 100, currency: "EUR" }],
      });
      for (let n = 1; n <= 20; n++) {
        await ok("POST", "/v1/inventory/adjustments", {
          sku: "HOOK-4W",
          location: "C4",
          set: n,
          reason: "correction",
        });
      }
      const deadline = Date.now() + 40_000; // the commit horizon is cluster-wide: other tests hold it back
      const mine = () => got.filter((g) => g.sku === "HOOK-4W");
      while (mine().length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500)); // and nothing more arrives
      const ids = mine().map((g) => g.id);
      expect(ids.length).toBe(20);
      expect(new Set(ids).size).toBe(20);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });
});
