import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { buildApp } from "../http/app.js";
import { Forbidden } from "../http/errors.js";
import { authorize, documentedPermission } from "./guard.js";
import { PERMISSIONS } from "./permissions.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

describe("route permissions", () => {
  it("every /v1 operation in the OpenAPI document names exactly one known permission, or is public", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<
        string,
        Record<string, { security?: Array<Record<string, string[]>>; "x-permission"?: string }>
      >;
    };
    const seen: string[] = [];
    const publicOps: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, op] of Object.entries(ops)) {
        expect(op.security, `${method} ${path}`).toBeDefined();
        const p = documentedPermission(op);
        if (p === null) publicOps.push(`${method} ${path}`);
        else if (p === "authenticated")
          expect(`${method} ${path}`).toMatch(/^(get \/v1\/me|post \/v1\/me\/totp.*)$/);
        else if (p !== undefined) {
          expect(Object.keys(PERMISSIONS)).toContain(p);
          expect(op.security).toEqual([{ bearer: [] }, { session: [] }]);
          seen.push(p);
        }
      }
    }
    expect(seen.length).toBeGreaterThan(70);
    expect(publicOps.sort()).toEqual([
      "get /v1/storefront/availability",
      "get /v1/storefront/availability/stream",
      "post /v1/auth/login",
      "post /v1/auth/logout",
      "post /v1/channels/{code}/webhooks", // verified by the channel's own signature
    ]);
  });

  it("refuses to start with a /v1 route that declares no permission", async () => {
    const app = await buildApp({ db: t.db, feedIntervalMs: 0 });
    try {
      expect(() => app.get("/v1/forgotten", async () => ({ ok: true }))).toThrow(/declares no permission/);
      expect(() =>
        app.get("/v1/made-up", { schema: { security: [{ bearer: ["orders:everything"] }] } }, async () => 1),
      ).toThrow(/known permission/);
      // outside /v1 nothing is required (health, docs, metrics)
      expect(() => app.get("/internal-thing", async () => 1)).not.toThrow();
    } finally {
      await app.close();
    }
  });

  it("denies by default: a principal gets a route only with the permission it declares", () => {
    expect(() => authorize(new Set(["order:read"]), "order:read")).not.toThrow();
    expect(() => authorize(new Set(["order:read"]), "order:approve")).toThrow(Forbidden);
    expect(() => authorize(new Set(), "catalog:read")).toThrow(/catalog:read/);
    expect(() => authorize("all", "keys:manage")).not.toThrow();
  });

  it("asks for a key on protected and unknown /v1 paths, and none on public ones", async () => {
    const orders = await t.app.inject({ method: "GET", url: "/v1/orders" });
    expect(orders.statusCode).toBe(401);
    expect(orders.json().code).toBe("unauthorized");
    expect((await t.app.inject({ method: "GET", url: "/v1/no-such-thing" })).statusCode).toBe(401);
    const withKey = await t.app.inject({ method: "GET", url: "/v1/no-such-thing", headers: t.auth });
    expect(withKey.statusCode).toBe(404);
    const storefront = await t.app.inject({ method: "GET", url: "/v1/storefront/availability?skus=NOPE" });
    expect(storefront.statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/v1/orders", headers: t.auth })).statusCode).toBe(200);
  });
});
