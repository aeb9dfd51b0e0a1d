import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type TestContext, testApp } from "../../../test/helpers.js";
import { api, expectLedgerConsistent, level, location, ok, product, stock } from "../../../test/shop.js";
import { reservationsWithinReserved } from "../../inventory/audit.js";

let t: TestContext;
let base: string;

beforeAll(async () => {
  t = await testApp({ pool: 20 });
  base = await listen(t);
  await location(t, "WH1", 1);
  await location(t, "WH2", 2);
  await product(t, ["F-1", "F-2", "F-3"]);
  await product(t, ["F-DIG"], { kind: "digital" });
});
afterAll(() => t.close());

const feed = (body: unknown) => api(t, "POST", "/v1/integrations/stock", body);
const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 0, min)).toISOString();

async function movements(sku: string) {
  return (await ok(t, "GET", `/v1/inventory/movements?sku=${sku}`)).data as Record<string, unknown>[];
}

describe("stock feed", () => {
  it("applies, then reports the same report again as unchanged and an older one as stale", async () => {
    const body = {
      source: "erp",
      as_of: at(10),
      levels: [
        { sku: "F-1", location: "WH1", on_hand: 40 },
        { sku: "F-2", location: "WH1", on_hand: 7 },
      ],
    };
    const first = await feed(body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ applied: 2, unchanged: 0, stale: 0, unknown: [], short: [] });
    expect((await level(t, "F-1", "WH1"))?.on_hand).toBe(40);
    const sync = (await movements("F-1")).filter((m) => m.reason === "sync");
    expect(sync).toHaveLength(1);
    expect(sync[0]).toMatchObject({ delta: 40, reference: "erp", bucket: "on_hand" });

    const retry = await feed(body);
    expect(retry.json()).toMatchObject({ applied: 0, unchanged: 2, stale: 0 });

    const older = await feed({
      source: "wms",
      as_of: at(5),
      levels: [{ sku: "F-1", location: "WH1", on_hand: 1 }],
    });
    expect(older.json()).toMatchObject({ applied: 0, unchanged: 0, stale: 1 });
    // same instant, different value: the first report wins
    const conflicting = await feed({ ...body, levels: [{ sku: "F-1", location: "WH1", on_hand: 3 }] });
    expect(conflicting.json()).toMatchObject({ applied: 0, stale: 1 });
    expect((await level(t, "F-1", "WH1"))?.on_hand).toBe(40);

    const newer = await feed({
      source: "erp",
      as_of: at(20),
      levels: [{ sku: "F-1", location: "WH1", on_hand: 35 }],
    });
    expect(newer.json()).toMatchObject({ applied: 1 });
    expect((await level(t, "F-1", "WH1"))?.on_hand).toBe(35);
    expect((await movements("F-1")).filter((m) => m.reason === "sync").map((m) => m.delta)).toEqual([-5, 40]);
    await expectLedgerConsistent(t);
  });

  it("lists unknown SKUs and locations, records failures, and applies the rest", async () => {
    const res = await feed({
      source: "erp",
      as_of: at(30),
      levels: [
        { sku: "NOPE", location: "WH1", on_hand: 1 },
        { sku: "F-3", location: "NOWHERE", on_hand: 1 },
        { sku: "F-DIG", location: "WH1", on_hand: 1 },
        { sku: "F-3", location: "WH2", on_hand: 9 },
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { applied: number; unknown: { sku: string; location: string }[] };
    expect(body.applied).toBe(1);
    expect(body.unknown.map((u) => `${u.sku}@${u.location}`).sort()).toEqual([
      "F-3@NOWHERE",
      "F-DIG@WH1",
      "NOPE@WH1",
    ]);
    expect((await level(t, "F-3", "WH2"))?.on_hand).toBe(9);
    const failures = await t.db
      .selectFrom("integration_failures")
      .select(["subject", "status"])
      .where("source", "=", "stock-feed")
      .execute();
    expect(failures.map((f) => f.subject).sort()).toEqual(["F-3@NOWHERE", "F-DIG@WH1", "NOPE@WH1"]);
  });

  it("never touches reserved: a report below reserved sets on_hand to what is promised and says so", async () => {
    await stock(t, "F-2", "WH2", 10);
    const held = await ok(
      t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "F-2", quantity: 6, location: "WH2" }] },
      201,
    );
    expect(held.status).toBe("active");
    const res = await feed({
      source: "wms",
      as_of: at(40),
      levels: [{ sku: "F-2", location: "WH2", on_hand: 2 }],
    });
    expect(res.json()).toMatchObject({
      applied: 1,
      short: [{ sku: "F-2", location: "WH2", requested: 2, on_hand: 6, committed: 6 }],
    });
    const l = await level(t, "F-2", "WH2");
    expect(l).toMatchObject({ on_hand: 6, reserved: 6, available: 0 });
    const open = await t.db
      .selectFrom("integration_failures")
      .select("status")
      .where("subject", "=", "F-2@WH2")
      .executeTakeFirst();
    expect(open?.status).toBe("open");
    // the next clean report resolves the failure
    await feed({ source: "wms", as_of: at(41), levels: [{ sku: "F-2", location: "WH2", on_hand: 8 }] });
    expect((await level(t, "F-2", "WH2"))?.on_hand).toBe(8);
    const resolved = await t.db
      .selectFrom("integration_failures")
      .select("status")
      .where("subject", "=", "F-2@WH2")
      .executeTakeFirst();
    expect(resolved?.status).toBe("resolved");
    await expectLedgerConsistent(t);
  });

  it("rejects bad input with 400/422 and changes nothing", async () => {
    const before = await level(t, "F-1", "WH1");
    const count = (await movements("F-1")).length;
    const bad = [
      { source: "erp", as_of: "yesterday", levels: [{ sku: "F-1", location: "WH1", on_hand: 1 }] },
      { source: "erp", as_of: at(50), levels: [{ sku: "F-1", location: "WH1", on_hand: -1 }] },
      { source: "erp", as_of: at(50), levels: [] },
      { as_of: at(50), levels: [{ sku: "F-1", location: "WH1", on_hand: 1 }] },
      { source: "erp", as_of: at(50), levels: [{ sku: "F-1", location: "WH1", on_hand: 1.5 }] },
    ];
    for (const body of bad) {
      const res = await feed(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    const dup = await feed({
      source: "erp",
      as_of: at(50),
      levels: [
        { sku: "F-1", location: "WH1", on_hand: 1 },
        { sku: "F-1", location: "WH1", on_hand: 2 },
      ],
    });
    expect(dup.statusCode).toBe(422);
    const tooMany = await feed({
      source: "erp",
      as_of: at(50),
      levels: Array.from({ length: 5001 }, (_, i) => ({ sku: `X-${i}`, location: "WH1", on_hand: 1 })),
    });
    expect(tooMany.statusCode).toBe(422);
    expect(await level(t, "F-1", "WH1")).toEqual(before);
    expect((await movements("F-1")).length).toBe(count);
  });

  it("requires inventory:sync", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/integrations/stock",
      payload: { source: "erp", as_of: at(60), levels: [{ sku: "F-1", location: "WH1", on_hand: 1 }] },
    });
    expect(res.statusCode).toBe(401);
  });

  it("concurrent feeds over overlapping SKUs in opposite orders stay consistent and keep the newest", async () => {
    const pairs = [
      ["F-1", "WH1"],
      ["F-1", "WH2"],
      ["F-2", "WH1"],
      ["F-3", "WH1"],
    ] as const;
    const post = async (n: number) => {
      const levels = pairs.map(([sku, location]) => ({ sku, location, on_hand: 100 + n }));
      if (n % 2) levels.reverse();
      const res = await fetch(`${base}/v1/integrations/stock`, {
        method: "POST",
        headers: { ...t.auth, "content-type": "application/json" },
        body: JSON.stringify({ source: `feed-${n % 3}`, as_of: at(100 + n), levels }),
      });
      return res.status;
    };
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, n) => post(n)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const [sku, loc] of pairs) expect((await level(t, sku, loc))?.on_hand).toBe(129);
    await expectLedgerConsistent(t);
  });

  it("feeds racing reservations of the same SKU never touch reserved and keep the ledger consistent", async () => {
    await product(t, ["RACE"]);
    await stock(t, "RACE", "WH1", 50);
    const reserve = () =>
      fetch(`${base}/v1/reservations`, {
        method: "POST",
        headers: { ...t.auth, "content-type": "application/json" },
        body: JSON.stringify({ lines: [{ sku: "RACE", quantity: 1, location: "WH1" }] }),
      }).then((r) => r.status);
    const push = (n: number) =>
      fetch(`${base}/v1/integrations/stock`, {
        method: "POST",
        headers: { ...t.auth, "content-type": "application/json" },
        // the ERP sees fewer and fewer units on the shelf, eventually fewer than are held
        body: JSON.stringify({
          source: "erp",
          as_of: at(200 + n),
          levels: [{ sku: "RACE", location: "WH1", on_hand: 40 - n * 2 }],
        }),
      }).then((r) => r.status);
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? push(i / 3) : reserve())),
    );
    expect(statuses.filter((s) => s !== 201 && s !== 409 && s !== 200)).toEqual([]);
    const held = statuses.filter((s) => s === 201).length;
    const l = await level(t, "RACE", "WH1");
    expect(l?.reserved).toBe(held);
    expect(l?.on_hand).toBeGreaterThanOrEqual(held);
    await expectLedgerConsistent(t);
    expect(await reservationsWithinReserved(t.db)).toEqual([]);
  });
});
