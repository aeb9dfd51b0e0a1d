import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { call, counts, eventsOfType, problem } from "./testing.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

describe("locations", () => {
  it("creates a location with defaults and announces it", async () => {
    const res = await call(t, "POST", "/v1/locations", {
      code: "WH1",
      name: "Main warehouse",
      kind: "warehouse",
    });
    expect(res.statusCode).toBe(201);
    const loc = res.json();
    expect(loc).toMatchObject({
      code: "WH1",
      name: "Main warehouse",
      kind: "warehouse",
      priority: 100,
      country: null,
      active: true,
    });
    expect(loc.id).toBeTypeOf("number");
    expect(new Date(loc.created_at).toISOString()).toBe(loc.created_at);
    const events = await eventsOfType(t, "location.created");
    expect(events).toContainEqual(loc);
  });

  it("gets a location by code and 404s an unknown one", async () => {
    const res = await call(t, "GET", "/v1/locations/WH1");
    expect(res.statusCode).toBe(200);
    expect(res.json().name).toBe("Main warehouse");
    const missing = problem(await call(t, "GET", "/v1/locations/NOPE"));
    expect(missing).toMatchObject({ status: 404, code: "not_found", problemJson: true });
  });

  it("lists in preference order: priority, then id, across pages", async () => {
    for (const [code, priority] of [
      ["STORE-B", 5],
      ["3PL-X", 500],
      ["STORE-A", 5],
      ["WH2", 1],
    ] as const) {
      const kind = code.startsWith("STORE") ? "store" : code.startsWith("3PL") ? "3pl" : "warehouse";
      const res = await call(t, "POST", "/v1/locations", { code, name: code, kind, priority, country: "DE" });
      expect(res.statusCode).toBe(201);
    }
    const all = (await call(t, "GET", "/v1/locations")).json();
    expect(all.data.map((l: { code: string }) => l.code)).toEqual([
      "WH2",
      "STORE-B",
      "STORE-A",
      "WH1",
      "3PL-X",
    ]);
    expect(all.next_cursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/locations?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await call(t, "GET", url);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((l: { code: string }) => l.code));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(["WH2", "STORE-B", "STORE-A", "WH1", "3PL-X"]);

    const stores = (await call(t, "GET", "/v1/locations?kind=store")).json();
    expect(stores.data.map((l: { code: string }) => l.code)).toEqual(["STORE-B", "STORE-A"]);
  });

  it("changes name, priority, country and active, and announces it", async () => {
    const res = await call(t, "PATCH", "/v1/locations/3PL-X", { priority: 0, active: false, country: null });
    expect(res.statusCode).toBe(200);
    const loc = res.json();
    expect(loc).toMatchObject({ code: "3PL-X", priority: 0, active: false, country: null });
    expect(loc.updated_at >= loc.created_at).toBe(true);
    expect(await eventsOfType(t, "location.updated")).toContainEqual(loc);
    const list = (await call(t, "GET", "/v1/locations")).json();
    expect(list.data[0].code).toBe("3PL-X");
    const active = (await call(t, "GET", "/v1/locations?active=true")).json();
    expect(active.data.map((l: { code: string }) => l.code)).not.toContain("3PL-X");
  });

  it("refuses a duplicate code with 409 and changes nothing", async () => {
    const before = await counts(t);
    const res = problem(
      await call(t, "POST", "/v1/locations", { code: "WH1", name: "Again", kind: "store" }),
    );
    expect(res).toMatchObject({ status: 409, code: "conflict" });
    expect(res.body.detail).toContain("WH1");
    expect(await counts(t)).toEqual(before);
  });

  it("refuses bad input with 400 naming the field and changes nothing", async () => {
    const before = await counts(t);
    const cases: [unknown, string][] = [
      [{ code: "-bad", name: "x", kind: "store" }, "body.code"],
      [{ code: "has space", name: "x", kind: "store" }, "body.code"],
      [{ code: "OK1", name: "", kind: "store" }, "body.name"],
      [{ code: "OK1", name: "x", kind: "shop" }, "body.kind"],
      [{ code: "OK1", name: "x", kind: "store", priority: -1 }, "body.priority"],
      [{ code: "OK1", name: "x", kind: "store", priority: 1.5 }, "body.priority"],
      [{ code: "OK1", name: "x", kind: "store", country: "de" }, "body.country"],
      [{ code: "OK1", name: "x", kind: "store", colour: "red" }, "body.colour"],
      [{ code: "OK1", name: "x".repeat(201), kind: "store" }, "body.name"],
    ];
    for (const [body, path] of cases) {
      const res = problem(await call(t, "POST", "/v1/locations", body));
      expect(res, JSON.stringify(body)).toMatchObject({ status: 400, code: "validation_failed" });
      expect(res.paths).toContain(path);
    }
    const patches: [unknown, string][] = [
      [{ priority: 2_000_000 }, "body.priority"],
      [{ code: "NEW" }, "body.code"],
      [{ kind: "store" }, "body.kind"],
      [{ active: "yes" }, "body.active"],
    ];
    for (const [body, path] of patches) {
      const res = problem(await call(t, "PATCH", "/v1/locations/WH1", body));
      expect(res, JSON.stringify(body)).toMatchObject({ status: 400, code: "validation_failed" });
      expect(res.paths).toContain(path);
    }
    expect(problem(await call(t, "PATCH", "/v1/locations/NOPE", { name: "x" })).status).toBe(404);
    expect(problem(await call(t, "GET", "/v1/locations?limit=0")).status).toBe(400);
    expect(problem(await call(t, "GET", "/v1/locations?cursor=garbage")).status).toBe(400);
    expect(problem(await call(t, "GET", "/v1/locations?sort=name")).status).toBe(400);
    expect(await counts(t)).toEqual(before);
  });

  it("an empty change returns the location and emits nothing", async () => {
    const before = await counts(t);
    const res = await call(t, "PATCH", "/v1/locations/WH1", {});
    expect(res.statusCode).toBe(200);
    expect(res.json().code).toBe("WH1");
    expect(await counts(t)).toEqual(before);
  });

  it("replays a POST with the same Idempotency-Key", async () => {
    const body = { code: "IDEM", name: "Idem", kind: "store" };
    const headers = { "idempotency-key": "loc-1" };
    const first = await call(t, "POST", "/v1/locations", body, headers);
    const second = await call(t, "POST", "/v1/locations", body, headers);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers["idempotent-replayed"]).toBe("true");
  });
});
