import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import {
  api,
  eventsWhen,
  expectLedgerConsistent,
  level,
  location,
  ok,
  product,
  stock,
} from "../../test/shop.js";
import { expireReservations } from "./reservations.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
  await location(t, "EAST", 1);
  await location(t, "WEST", 2);
  await product(t, ["TEE-S", "TEE-M"]);
  await product(t, ["MUG"], { threshold: 5 });
  await product(t, ["CAP"], { policy: "backorder" });
  await product(t, ["BOOK"], { policy: "preorder" });
  await product(t, ["EBOOK"], { kind: "digital" });
  await product(t, ["GIFT-SET"], {
    kind: "bundle",
    components: [
      { sku: "TEE-S", quantity: 1 },
      { sku: "MUG", quantity: 2 },
    ],
  });
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

describe("adjustments", () => {
  it("adds and sets on_hand, each a ledger movement with reason and actor", async () => {
    const first = await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: "TEE-S", location: "EAST", delta: 7, reason: "received", reference: "grn:1" },
      201,
    );
    expect(first.movements).toMatchObject([
      {
        sku: "TEE-S",
        location: "EAST",
        bucket: "on_hand",
        delta: 7,
        reason: "received",
        reference: "grn:1",
        actor: "api_key:test",
      },
    ]);
    const set = await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: "TEE-S", location: "EAST", set: 10, reason: "count" },
      201,
    );
    expect(set.movements).toMatchObject([{ delta: 3, bucket: "on_hand" }]);
    expect(await level(t, "TEE-S", "EAST")).toMatchObject({ on_hand: 10, available: 10 });
    const same = await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: "TEE-S", location: "EAST", set: 10, reason: "count" },
      201,
    );
    expect(same.movements).toEqual([]);
  });

  it("refuses to set on_hand below what is reserved and allocated, changing nothing", async () => {
    await stock(t, "TEE-M", "EAST", 5);
    await ok(
      t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "TEE-M", quantity: 3, location: "EAST" }] },
      201,
    );
    const res = await api(t, "POST", "/v1/inventory/adjustments", {
      sku: "TEE-M",
      location: "EAST",
      set: 2,
      reason: "count",
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toMatch(/3 reserved/);
    const down = await api(t, "POST", "/v1/inventory/adjustments", {
      sku: "TEE-M",
      location: "EAST",
      delta: -4,
      reason: "shrinkage",
    });
    expect(down.statusCode).toBe(409);
    expect(await level(t, "TEE-M", "EAST")).toMatchObject({ on_hand: 5, reserved: 3 });
  });

  it("sets safety stock, which lowers availability but not on_hand", async () => {
    await stock(t, "MUG", "WEST", 20);
    await stock(t, "MUG", "WEST", 4, "safety_stock");
    expect(await level(t, "MUG", "WEST")).toMatchObject({ on_hand: 20, safety_stock: 4, available: 16 });
  });

  it("moves units between buckets, both sides in the ledger", async () => {
    await stock(t, "CAP", "EAST", 6);
    const moved = await ok(
      t,
      "POST",
      "/v1/inventory/moves",
      {
        sku: "CAP",
        location: "EAST",
        from: "on_hand",
        to: "quarantine",
        quantity: 2,
        reason: "quality_hold",
      },
      201,
    );
    expect(moved.movements.map((m: { bucket: string; delta: number }) => [m.bucket, m.delta])).toEqual([
      ["on_hand", -2],
      ["quarantine", 2],
    ]);
    await ok(
      t,
      "POST",
      "/v1/inventory/moves",
      {
        sku: "CAP",
        location: "EAST",
        from: "quarantine",
        to: "on_hand",
        quantity: 1,
        reason: "quality_hold",
      },
      201,
    );
    expect(await level(t, "CAP", "EAST")).toMatchObject({ on_hand: 5, quarantine: 1 });
    const tooMany = await api(t, "POST", "/v1/inventory/moves", {
      sku: "CAP",
      location: "EAST",
      from: "quarantine",
      to: "damaged",
      quantity: 5,
      reason: "damage",
    });
    expect(tooMany.statusCode).toBe(409);
    expect(tooMany.json().code).toBe("insufficient_stock");
  });

  it("refuses bad input with a clear 4xx and changes nothing", async () => {
    const before = await t.db
      .selectFrom("inventory_movements")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirst();
    const cases: [unknown, number, string][] = [
      [{ sku: "TEE-S", location: "EAST", reason: "count" }, 400, "delta"],
      [{ sku: "TEE-S", location: "EAST", delta: 1, set: 3, reason: "count" }, 400, "delta"],
      [{ sku: "TEE-S", location: "EAST", delta: 1.5, reason: "count" }, 400, "delta"],
      [{ sku: "TEE-S", location: "EAST", delta: 1, reason: "count", extra: 1 }, 400, "extra"],
      [{ sku: "TEE-S", location: "EAST", delta: 1, reason: "sale" }, 422, "reason"],
      [{ sku: "NOPE", location: "EAST", delta: 1, reason: "count" }, 422, "sku"],
      [{ sku: "TEE-S", location: "NOWHERE", delta: 1, reason: "count" }, 422, "location"],
      [{ sku: "GIFT-SET", location: "EAST", delta: 1, reason: "count" }, 422, "sku"],
      [{ sku: "TEE-S", location: "EAST", delta: 1, bucket: "reserved", reason: "count" }, 400, "bucket"],
      [{ sku: "TEE-S", location: "EAST", set: -1, reason: "count" }, 400, "set"],
    ];
    for (const [body, status, field] of cases) {
      const res = await api(t, "POST", "/v1/inventory/adjustments", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json().code).toBe("validation_failed");
      expect(JSON.stringify(res.json().errors)).toContain(field);
    }
    const notJson = await t.app.inject({
      method: "POST",
      url: "/v1/inventory/adjustments",
      headers: { ...t.auth, "content-type": "application/json" },
      payload: "{",
    });
    expect(notJson.statusCode).toBe(400);
    const after = await t.db
      .selectFrom("inventory_movements")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirst();
    expect(after).toEqual(before);
  });
});

describe("transfers", () => {
  it("ships into incoming and receives partially, then fully", async () => {
    await stock(t, "TEE-S", "WEST", 8);
    const tr = await ok(
      t,
      "POST",
      "/v1/inventory/transfers",
      { from: "WEST", to: "EAST", lines: [{ sku: "TEE-S", quantity: 5 }] },
      201,
    );
    expect(tr.status).toBe("in_transit");
    expect(await level(t, "TEE-S", "WEST")).toMatchObject({ on_hand: 3 });
    const east = await level(t, "TEE-S", "EAST");
    expect(east?.incoming).toBe(5);
    const part = await ok(t, "POST", `/v1/inventory/transfers/${tr.id}/receive`, {
      lines: [{ sku: "TEE-S", quantity: 2 }],
    });
    expect(part.status).toBe("partially_received");
    expect(await level(t, "TEE-S", "EAST")).toMatchObject({ incoming: 3, on_hand: (east?.on_hand ?? 0) + 2 });
    const over = await api(t, "POST", `/v1/inventory/transfers/${tr.id}/receive`, {
      lines: [{ sku: "TEE-S", quantity: 4 }],
    });
    expect(over.statusCode).toBe(422);
    const rest = await ok(t, "POST", `/v1/inventory/transfers/${tr.id}/receive`, {});
    expect(rest.status).toBe("received");
    expect(rest.lines).toEqual([{ sku: "TEE-S", quantity: 5, received: 5 }]);
    const again = await api(t, "POST", `/v1/inventory/transfers/${tr.id}/receive`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("invalid_transition");
  });

  it("cannot ship units that are not free", async () => {
    const res = await api(t, "POST", "/v1/inventory/transfers", {
      from: "WEST",
      to: "EAST",
      lines: [{ sku: "TEE-S", quantity: 999 }],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: "insufficient_stock",
      lines: [{ sku: "TEE-S", requested: 999 }],
    });
    expect(
      (
        await api(t, "POST", "/v1/inventory/transfers", {
          from: "WEST",
          to: "WEST",
          lines: [{ sku: "TEE-S", quantity: 1 }],
        })
      ).statusCode,
    ).toBe(422);
  });
});

describe("reservations", () => {
  it("chooses the preferred location that can serve the line, else splits by priority", async () => {
    await product(t, ["SOCK"]);
    await stock(t, "SOCK", "EAST", 2);
    await stock(t, "SOCK", "WEST", 5);
    const whole = await ok(t, "POST", "/v1/reservations", { lines: [{ sku: "SOCK", quantity: 4 }] }, 201);
    expect(whole.lines).toEqual([{ sku: "SOCK", location: "WEST", quantity: 4 }]);
    const split = await ok(t, "POST", "/v1/reservations", { lines: [{ sku: "SOCK", quantity: 3 }] }, 201);
    expect(split.lines).toEqual([
      { sku: "SOCK", location: "EAST", quantity: 2 },
      { sku: "SOCK", location: "WEST", quantity: 1 },
    ]);
    expect(whole.status).toBe("active");
    expect(new Date(whole.expires_at).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
  });

  it("holds every line or nothing", async () => {
    await product(t, ["BELT", "SCARF"]);
    await stock(t, "BELT", "EAST", 3);
    await stock(t, "SCARF", "EAST", 1);
    const res = await api(t, "POST", "/v1/reservations", {
      lines: [
        { sku: "BELT", quantity: 2 },
        { sku: "SCARF", quantity: 2 },
      ],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: "insufficient_stock",
      lines: [{ sku: "SCARF", requested: 2, available: 1 }],
    });
    expect(await level(t, "BELT", "EAST")).toMatchObject({ reserved: 0, available: 3 });
  });

  it("reserves a bundle's components together and derives bundle availability", async () => {
    await stock(t, "TEE-S", "EAST", 10);
    await stock(t, "MUG", "EAST", 5);
    const avail = await ok(t, "GET", "/v1/inventory/availability?sku=GIFT-SET");
    // EAST: min(10 tees, floor(5 mugs / 2)) = 2; WEST: tees 3, mugs 16 available -> min(3, 8) = 3
    expect(avail.locations).toEqual([
      { location: "EAST", available: 2 },
      { location: "WEST", available: 3 },
    ]);
    expect(avail.available).toBe(5);
    const r = await ok(
      t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "GIFT-SET", quantity: 2, location: "EAST" }] },
      201,
    );
    expect(r.lines).toEqual([
      { sku: "GIFT-SET", location: "EAST", quantity: 2, components: [{ sku: "TEE-S", quantity: 2 }] },
      { sku: "GIFT-SET", location: "EAST", quantity: 4, components: [{ sku: "MUG", quantity: 4 }] },
    ]);
    expect(await level(t, "MUG", "EAST")).toMatchObject({ reserved: 4, available: 1 });
    const none = await api(t, "POST", "/v1/reservations", {
      lines: [{ sku: "GIFT-SET", quantity: 1, location: "EAST" }],
    });
    expect(none.statusCode).toBe(409);
    await ok(t, "DELETE", `/v1/reservations/${r.id}`);
    expect(await level(t, "MUG", "EAST")).toMatchObject({ reserved: 0 });
  });

  it("holds nothing for digital goods, which are always available", async () => {
    const r = await ok(t, "POST", "/v1/reservations", { lines: [{ sku: "EBOOK", quantity: 3 }] }, 201);
    expect(r.lines).toEqual([]);
    expect(await ok(t, "GET", "/v1/inventory/availability?sku=EBOOK")).toMatchObject({ available: null });
  });

  it("releases once; releasing again is harmless", async () => {
    await product(t, ["GLOVE"]);
    await stock(t, "GLOVE", "EAST", 2);
    const r = await ok(t, "POST", "/v1/reservations", { lines: [{ sku: "GLOVE", quantity: 2 }] }, 201);
    expect(await level(t, "GLOVE", "EAST")).toMatchObject({ reserved: 2, available: 0 });
    expect((await ok(t, "DELETE", `/v1/reservations/${r.id}`)).status).toBe("released");
    expect((await ok(t, "DELETE", `/v1/reservations/${r.id}`)).status).toBe("released");
    expect(await level(t, "GLOVE", "EAST")).toMatchObject({ reserved: 0, available: 2 });
    const moves = await ok(t, "GET", `/v1/inventory/movements?reference=reservation:${r.id}`);
    expect(moves.data.map((m: { reason: string; delta: number }) => [m.reason, m.delta])).toEqual([
      ["release", -2],
      ["reservation", 2],
    ]);
    expect((await api(t, "DELETE", "/v1/reservations/999999")).statusCode).toBe(404);
  });

  it("expires overdue reservations with an `expiry` movement", async () => {
    await product(t, ["HAT"]);
    await stock(t, "HAT", "EAST", 3);
    const r = await ok(
      t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "HAT", quantity: 3 }], ttl_seconds: 60 },
      201,
    );
    expect(await expireReservations(t.db)).toBe(0);
    expect(await expireReservations(t.db, { now: new Date(Date.now() + 61_000) })).toBeGreaterThanOrEqual(1);
    expect((await ok(t, "GET", `/v1/reservations/${r.id}`)).status).toBe("expired");
    expect(await level(t, "HAT", "EAST")).toMatchObject({ reserved: 0, available: 3 });
    const moves = await ok(t, "GET", `/v1/inventory/movements?reference=reservation:${r.id}&reason=expiry`);
    expect(moves.data).toMatchObject([{ delta: -3, actor: "system:sweeper" }]);
    expect((await ok(t, "DELETE", `/v1/reservations/${r.id}`)).status).toBe("expired");
  });

  it("refuses to hold products that are not on sale", async () => {
    const p = await product(t, ["OLD-TEE"]);
    await stock(t, "OLD-TEE", "EAST", 5);
    await ok(t, "PATCH", `/v1/products/${p.id}`, { status: "archived" });
    const res = await api(t, "POST", "/v1/reservations", { lines: [{ sku: "OLD-TEE", quantity: 1 }] });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0]).toMatchObject({ path: "body.lines.0.sku" });
    expect(await level(t, "OLD-TEE", "EAST")).toMatchObject({ reserved: 0 });
  });

  it("refuses bad reservation input and holds nothing", async () => {
    const cases: [unknown, number][] = [
      [{ lines: [] }, 400],
      [{ lines: [{ sku: "HAT", quantity: 0 }] }, 400],
      [{ lines: [{ sku: "HAT", quantity: 1 }], ttl_seconds: 0 }, 400],
      [{ lines: [{ sku: "NOPE", quantity: 1 }] }, 422],
      [{ lines: [{ sku: "HAT", quantity: 1, location: "MOON" }] }, 422],
      [{ lines: [{ sku: "HAT", quantity: 1 }], foo: 1 }, 400],
    ];
    for (const [body, status] of cases) {
      const res = await api(t, "POST", "/v1/reservations", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().code).toBe("validation_failed");
    }
    expect((await api(t, "GET", "/v1/reservations/abc")).statusCode).toBe(400);
  });
});

describe("idempotency", () => {
  it("replays the first response, refuses a different body, and runs concurrent duplicates once", async () => {
    await product(t, ["SHOE"]);
    await stock(t, "SHOE", "EAST", 10);
    const body = { lines: [{ sku: "SHOE", quantity: 1 }] };
    const first = await api(t, "POST", "/v1/reservations", body, { "idempotency-key": "k-1" });
    const again = await api(t, "POST", "/v1/reservations", body, { "idempotency-key": "k-1" });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers["idempotent-replayed"]).toBe("true");
    const other = await api(
      t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "SHOE", quantity: 2 }] },
      { "idempotency-key": "k-1" },
    );
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe("idempotency_key_reused");

    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        api(t, "POST", "/v1/reservations", body, { "idempotency-key": "k-2" }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(await level(t, "SHOE", "EAST")).toMatchObject({ reserved: 2 });
  });
});

describe("events", () => {
  it("writes an inventory.level_changed event with each change, readable in order", async () => {
    const feed = await ok(t, "GET", "/v1/events?type=inventory.level_changed&limit=1000");
    expect(feed.data.length).toBeGreaterThan(10);
    // the payload's shape, as the storefront cache, the SSE stream and channel sync read it
    const keys = "allocated available bundles damaged incoming location on_hand quarantine reserved";
    expect(Object.keys(feed.data[0].payload).sort()).toEqual(
      `${keys} return_pending safety_stock sku`.split(" ").sort(),
    );
    const next = await ok(t, "GET", `/v1/events?after=${feed.data[0].id}&limit=1`);
    expect(next.data[0].id).toBeGreaterThan(feed.data[0].id);
    const wanted = ["reservation.created", "reservation.released", "transfer.created"];
    const all = await eventsWhen<{ type: string }>(t, "/v1/events?limit=1000", (d) =>
      wanted.every((w) => d.some((e) => e.type === w)),
    );
    const types = new Set(all.map((e) => e.type));
    expect([...types]).toEqual(
      expect.arrayContaining(["reservation.created", "reservation.released", "transfer.created"]),
    );
  });
});
