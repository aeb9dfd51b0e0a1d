import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, expectLedgerConsistent, level, location, ok, product, stock } from "../../test/shop.js";

let t: TestContext;

beforeAll(async () => {
  t = await testApp();
  await location(t, "MAIN", 1);
  await location(t, "SIDE", 2);
  await location(t, "ACC", 3);
  for (const sku of ["APPLE", "BANANA", "CHERRY", "DATE", "ELDER", "FIG", "XRAY", "YAK"])
    await product(t, [sku]);
  await ok(t, "POST", "/v1/count-settings", { approval_units: 2, approval_value: 100_000 });
});
afterAll(() => t.close());
afterEach(() => expectLedgerConsistent(t));

const countMoves = async (id: number) =>
  (await ok(t, "GET", `/v1/inventory/movements?reference=count:${id}`)).data.map(
    (m: { sku: string; bucket: string; delta: number; reason: string }) => [
      m.sku,
      m.bucket,
      m.delta,
      m.reason,
    ],
  );

describe("cycle counts", () => {
  it("corrects expected quantities for movements during the count, then posts the difference", async () => {
    await stock(t, "APPLE", "MAIN", 10);
    await stock(t, "BANANA", "MAIN", 5);
    const count = await ok(t, "POST", "/v1/counts", { location: "MAIN", skus: ["APPLE", "BANANA"] }, 201);
    expect(count).toMatchObject({
      status: "open",
      scope: "skus",
      allowed_actions: ["record", "submit", "cancel"],
    });
    expect(count.lines.map((l: { sku: string; expected: number }) => [l.sku, l.expected])).toEqual([
      ["APPLE", 10],
      ["BANANA", 5],
    ]);
    // while counting, 3 apples ship to another location
    await ok(
      t,
      "POST",
      "/v1/inventory/transfers",
      { from: "MAIN", to: "SIDE", lines: [{ sku: "APPLE", quantity: 3 }] },
      201,
    );
    const counted = await ok(t, "POST", `/v1/counts/${count.id}/lines`, {
      lines: [
        { sku: "APPLE", counted: 7 },
        { sku: "BANANA", counted: 4 },
      ],
    });
    expect(counted.lines).toMatchObject([
      { sku: "APPLE", expected: 10, movements_during_count: -3, corrected_expected: 7, variance: 0 },
      { sku: "BANANA", expected: 5, movements_during_count: 0, corrected_expected: 5, variance: -1 },
    ]);
    // after the bananas were counted, 2 more arrive: they are not part of the difference
    await ok(
      t,
      "POST",
      "/v1/inventory/adjustments",
      { sku: "BANANA", location: "MAIN", delta: 2, reason: "received" },
      201,
    );
    const done = await ok(t, "POST", `/v1/counts/${count.id}/submit`, {});
    // -1 is within the thresholds: approved at once
    expect(done).toMatchObject({
      status: "approved",
      approved_by: "system:within_thresholds",
      allowed_actions: [],
    });
    expect(done.lines[1]).toMatchObject({ sku: "BANANA", variance: -1, needs_approval: false });
    expect(await countMoves(count.id)).toEqual([["BANANA", "on_hand", -1, "count"]]);
    expect(await level(t, "BANANA", "MAIN")).toMatchObject({ on_hand: 6 });
    expect(await level(t, "APPLE", "MAIN")).toMatchObject({ on_hand: 7 });
  });

  it("hides expected quantities of a blind count until it is submitted", async () => {
    await stock(t, "CHERRY", "MAIN", 12);
    const count = await ok(t, "POST", "/v1/counts", { location: "MAIN", skus: ["CHERRY"], blind: true }, 201);
    expect(count.lines).toEqual([
      expect.objectContaining({ sku: "CHERRY", expected: null, corrected_expected: null, variance: null }),
    ]);
    const recorded = await ok(t, "POST", `/v1/counts/${count.id}/lines`, {
      lines: [{ sku: "CHERRY", counted: 12 }],
    });
    expect(recorded.lines[0]).toMatchObject({ counted: 12, expected: null, variance: null });
    expect((await ok(t, "GET", `/v1/counts/${count.id}`)).lines[0].expected).toBeNull();
    const done = await ok(t, "POST", `/v1/counts/${count.id}/submit`, {});
    expect(done.lines[0]).toMatchObject({ expected: 12, counted: 12, variance: 0 });
    expect(await countMoves(count.id)).toEqual([]);
  });

  it("holds variances over the threshold for approval, and refuses to post below what is promised", async () => {
    await stock(t, "DATE", "MAIN", 10);
    const hold = await ok(
      t,
      "POST",
      "/v1/reservations",
      { lines: [{ sku: "DATE", quantity: 8, location: "MAIN" }] },
      201,
    );
    const count = await ok(t, "POST", "/v1/counts", { location: "MAIN", skus: ["DATE"] }, 201);
    const early = await api(t, "POST", `/v1/counts/${count.id}/approve`);
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({
      code: "invalid_transition",
      allowed: ["record", "submit", "cancel"],
    });
    await ok(t, "POST", `/v1/counts/${count.id}/lines`, { lines: [{ sku: "DATE", counted: 5 }] });
    const submitted = await ok(t, "POST", `/v1/counts/${count.id}/submit`, {});
    expect(submitted).toMatchObject({ status: "submitted", allowed_actions: ["approve", "cancel"] });
    expect(submitted.lines[0]).toMatchObject({ variance: -5, needs_approval: true });
    expect(submitted.summary).toMatchObject({ lines: 1, counted: 1, with_variance: 1, needing_approval: 1 });
    expect(await countMoves(count.id)).toEqual([]);

    const refused = await api(t, "POST", `/v1/counts/${count.id}/approve`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toMatch(/DATE: on_hand 10 -5 = 5 would be below 8 reserved \+ 0 allocated/);
    expect(await level(t, "DATE", "MAIN")).toMatchObject({ on_hand: 10, reserved: 8 });
    expect((await ok(t, "GET", `/v1/counts/${count.id}`)).status).toBe("submitted");

    await ok(t, "DELETE", `/v1/reservations/${hold.id}`);
    const approved = await ok(t, "POST", `/v1/counts/${count.id}/approve`);
    expect(approved).toMatchObject({ status: "approved", approved_by: "api_key:test" });
    expect(await countMoves(count.id)).toEqual([["DATE", "on_hand", -5, "count"]]);
    expect(await level(t, "DATE", "MAIN")).toMatchObject({ on_hand: 5 });
    const again = await api(t, "POST", `/v1/counts/${count.id}/approve`);
    expect(again.json()).toMatchObject({ code: "invalid_transition", status_now: "approved", allowed: [] });
    const types = (
      await t.db.selectFrom("outbox_events").select("type").where("type", "like", "count.%").execute()
    ).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(["count.started", "count.recorded", "count.submitted", "count.approved"]),
    );
  });

  it("counts a whole location, adds found SKUs, counts the uncounted as zero on request", async () => {
    await stock(t, "ELDER", "SIDE", 4);
    const count = await ok(t, "POST", "/v1/counts", { location: "SIDE" }, 201);
    expect(count.scope).toBe("all");
    expect(count.lines.map((l: { sku: string }) => l.sku)).toEqual(["APPLE", "ELDER"]);
    // a SKU nobody expected at SIDE turns up
    const found = await ok(t, "POST", `/v1/counts/${count.id}/lines`, {
      lines: [{ sku: "FIG", counted: 1 }],
    });
    expect(found.lines.map((l: { sku: string }) => l.sku)).toEqual(["APPLE", "ELDER", "FIG"]);
    const overlap = await api(t, "POST", "/v1/counts", { location: "SIDE", skus: ["ELDER"] });
    expect(overlap.statusCode).toBe(409);
    expect(overlap.json().detail).toMatch(/ELDER \(count \d+\)/);
    const done = await ok(t, "POST", `/v1/counts/${count.id}/submit`, { uncounted: "zero" });
    // ELDER 4 → 0 exceeds 2 units: approval needed (the 3 APPLEs at SIDE are still in transit, not on hand)
    expect(done.status).toBe("submitted");
    const approved = await ok(t, "POST", `/v1/counts/${count.id}/approve`);
    expect(approved.lines.map((l: { sku: string; variance: number }) => [l.sku, l.variance])).toEqual([
      ["APPLE", 0],
      ["ELDER", -4],
      ["FIG", 1],
    ]);
    expect(await level(t, "FIG", "SIDE")).toMatchObject({ on_hand: 1 });
    expect(await level(t, "ELDER", "SIDE")).toMatchObject({ on_hand: 0 });
  });

  it("refuses bad input with a clear 4xx and changes nothing; replays with the same Idempotency-Key", async () => {
    const before = await t.db
      .selectFrom("count_sessions")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    const cases: [unknown, number, string][] = [
      [{ location: "MOON" }, 422, "location"],
      [{ location: "MAIN", skus: ["NOPE"] }, 422, "skus.0"],
      [{ location: "MAIN", skus: ["APPLE", "APPLE"] }, 422, "skus.1"],
      [{ location: "MAIN", skus: ["APPLE"], abc_class: "A" }, 400, "abc_class"],
      [{ location: "MAIN", abc_class: "D" }, 400, "abc_class"],
      [{ location: "MAIN", blind: "yes" }, 400, "blind"],
      [{ location: "ACC" }, 422, "body"],
    ];
    for (const [body, status, field] of cases) {
      const res = await api(t, "POST", "/v1/counts", body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().code).toBe("validation_failed");
      expect(JSON.stringify(res.json().errors)).toContain(field);
    }
    const after = await t.db
      .selectFrom("count_sessions")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);

    const key = { "idempotency-key": "count-1" };
    const first = await api(t, "POST", "/v1/counts", { location: "MAIN", skus: ["APPLE"] }, key);
    const second = await api(t, "POST", "/v1/counts", { location: "MAIN", skus: ["APPLE"] }, key);
    expect(first.statusCode).toBe(201);
    expect(second.json().id).toBe(first.json().id);
    const id = first.json().id;
    const lines: [unknown, number][] = [
      [{ lines: [{ sku: "APPLE", counted: -1 }] }, 400],
      [{ lines: [{ sku: "BANANA", counted: 1 }] }, 422],
      [{ lines: [] }, 400],
    ];
    for (const [body, status] of lines)
      expect((await api(t, "POST", `/v1/counts/${id}/lines`, body)).statusCode).toBe(status);
    expect((await api(t, "POST", `/v1/counts/${id}/submit`, {})).statusCode).toBe(422);
    expect((await ok(t, "GET", `/v1/counts/${id}`)).summary.counted).toBe(0);
    expect((await ok(t, "POST", `/v1/counts/${id}/cancel`)).status).toBe("cancelled");
    expect(
      (await api(t, "POST", `/v1/counts/${id}/lines`, { lines: [{ sku: "APPLE", counted: 1 }] })).statusCode,
    ).toBe(409);
    expect((await api(t, "GET", "/v1/counts/999999")).statusCode).toBe(404);
  });

  it("counts an ABC class and reports accuracy per location, by lines and by value", async () => {
    await ok(t, "POST", "/v1/suppliers", { code: "FRUIT", name: "Fruit", lead_time_days: 2 }, 201);
    const po = await ok(
      t,
      "POST",
      "/v1/purchase-orders",
      {
        supplier: "FRUIT",
        location: "ACC",
        lines: [
          { sku: "XRAY", quantity: 10, unit_cost: 100 },
          { sku: "YAK", quantity: 10, unit_cost: 1000 },
        ],
      },
      201,
    );
    await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
    await ok(
      t,
      "POST",
      `/v1/purchase-orders/${po.id}/receipts`,
      {
        lines: [
          { sku: "XRAY", quantity: 10 },
          { sku: "YAK", quantity: 10 },
        ],
      },
      201,
    );
    const abc = await ok(t, "GET", "/v1/reports/abc-classes?location=ACC");
    // nothing sold yet: everything is C
    expect(abc.data.map((r: { sku: string; class: string }) => [r.sku, r.class])).toEqual([
      ["XRAY", "C"],
      ["YAK", "C"],
    ]);
    expect((await api(t, "POST", "/v1/counts", { location: "ACC", abc_class: "A" })).statusCode).toBe(422);
    const count = await ok(t, "POST", "/v1/counts", { location: "ACC", abc_class: "C" }, 201);
    expect(count).toMatchObject({ scope: "abc", abc_class: "C" });
    await ok(t, "POST", `/v1/counts/${count.id}/lines`, {
      lines: [
        { sku: "XRAY", counted: 10 },
        { sku: "YAK", counted: 9 },
      ],
    });
    const done = await ok(t, "POST", `/v1/counts/${count.id}/submit`, {});
    expect(done.status).toBe("approved");
    expect(done.lines).toMatchObject([
      { sku: "XRAY", variance: 0, variance_value: 0 },
      { sku: "YAK", variance: -1, variance_value: -1000 },
    ]);
    const report = await ok(t, "GET", "/v1/reports/inventory-accuracy?location=ACC");
    expect(report.data).toEqual([
      expect.objectContaining({
        location: "ACC",
        counts: 1,
        lines_counted: 2,
        lines_accurate: 1,
        accuracy: 0.5,
        value_counted: 11_000,
        value_accurate: 1_000,
        value_accuracy: 0.0909,
        variance_value_abs: 1000,
        variance_value_net: -1000,
      }),
    ]);
    const all = await ok(t, "GET", "/v1/reports/inventory-accuracy");
    expect(all.data.map((r: { location: string }) => r.location)).toEqual(["ACC", "MAIN", "SIDE"]);
  });

  it("snapshots consistently while stock moves concurrently: a true count shows no variance", async () => {
    await product(t, ["GRAPE"]);
    await stock(t, "GRAPE", "MAIN", 200);
    const moves = () =>
      Array.from({ length: 20 }, (_, i) =>
        api(t, "POST", "/v1/inventory/adjustments", {
          sku: "GRAPE",
          location: "MAIN",
          delta: i % 2 ? -1 : 2,
          reason: i % 2 ? "shrinkage" : "found",
        }),
      );
    const started = api(t, "POST", "/v1/counts", { location: "MAIN", skus: ["GRAPE"] });
    const [count] = await Promise.all([started, ...moves()]);
    expect(count.statusCode).toBe(201);
    const id = count.json().id;
    // counting while more moves happen; the counter sees what on_hand is at that moment
    const during = moves();
    const onHand = (await level(t, "GRAPE", "MAIN"))!.on_hand;
    const recorded = api(t, "POST", `/v1/counts/${id}/lines`, { lines: [{ sku: "GRAPE", counted: onHand }] });
    await Promise.all([recorded, ...during]);
    // the count recorded its ledger position when it ran; on_hand at that position is what was there
    const line = (await ok(t, "GET", `/v1/counts/${id}`)).lines[0];
    const position = await t.db
      .selectFrom("count_lines")
      .select("counted_movement")
      .where("count_id", "=", id)
      .executeTakeFirstOrThrow();
    const atCount = await t.db
      .selectFrom("inventory_movements as m")
      .innerJoin("variants as v", "v.id", "m.variant_id")
      .select((eb) => eb.fn.sum<string>("m.delta").as("n"))
      .where("v.sku", "=", "GRAPE")
      .where("m.bucket", "=", "on_hand")
      .where("m.id", "<=", position.counted_movement!)
      .executeTakeFirstOrThrow();
    expect(line.corrected_expected).toBe(Number(atCount.n));
    await ok(t, "POST", `/v1/counts/${id}/cancel`);
  });
});
