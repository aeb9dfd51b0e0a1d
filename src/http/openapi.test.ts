import { createConfig, lintFromString } from "@redocly/openapi-core";
import spectralCore from "@stoplight/spectral-core";
import spectralParsers from "@stoplight/spectral-parsers";
import { oas } from "@stoplight/spectral-rulesets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { completeDocument, type OpenApiDocument, operationIdFor, singular } from "./openapi.js";

// both packages are CommonJS: their named exports come through the default export under ESM
const { Spectral, Document } = spectralCore as unknown as typeof import("@stoplight/spectral-core");
const { Json } = spectralParsers as unknown as typeof import("@stoplight/spectral-parsers");

let t: TestContext;
let text: string;
let doc: OpenApiDocument;
beforeAll(async () => {
  t = await testApp();
  const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
  expect(res.statusCode).toBe(200);
  text = res.body;
  doc = res.json();
});
afterAll(() => t.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method, op })),
  );

describe("/openapi.json", () => {
  it("lints clean with Spectral's spectral:oas (recommended): no error, no warning", async () => {
    const spectral = new Spectral();
    spectral.setRuleset({ extends: [[oas as never, "recommended"]] });
    const results = await spectral.run(new Document(text, Json, "openapi.json"));
    expect(results.map((r) => `${r.code} at ${r.path.join(".")}: ${r.message}`)).toEqual([]);
  });

  it("lints clean with Redocly's recommended rules", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: text, absoluteRef: "openapi.json", config });
    expect(problems.map((p) => `${p.ruleId} at ${p.location?.[0]?.pointer}: ${p.message}`)).toEqual([]);
  });

  it("gives every operation a unique operationId, a description with its permission, its 4xx problems and a defined tag", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(150);
    const ids = ops.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set((doc.tags ?? []).map((tag) => tag.name));
    for (const { path, method, op } of ops) {
      const where = `${method} ${path}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.description, where).toMatch(/permission|Public|Any valid API key/);
      expect(
        Object.keys(op.responses ?? {}).some((code) => code.startsWith("4")),
        where,
      ).toBe(true);
      expect(op.tags?.length, where).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(tags.has(tag), `${where}: tag ${tag}`).toBe(true);
      if ((op.security ?? []).length > 0) expect(Object.keys(op.responses ?? {}), where).toContain("403");
    }
    expect(doc.servers?.length).toBe(1);
    expect(doc.paths["/v1/orders"].post["x-permission"]).toBe("order:write");
  });
});

describe("operationIdFor", () => {
  it("names an operation by its verb and the resources of its path", () => {
    expect(operationIdFor("get", "/v1/orders")).toBe("listOrders");
    expect(operationIdFor("get", "/v1/orders/{id}")).toBe("getOrder");
    expect(operationIdFor("post", "/v1/orders")).toBe("createOrder");
    expect(operationIdFor("patch", "/v1/orders/{id}")).toBe("updateOrder");
    expect(operationIdFor("post", "/v1/orders/{id}/approve")).toBe("approveOrder");
    expect(operationIdFor("post", "/v1/integrations/failures/retry")).toBe("retryIntegrationsFailures");
    expect(operationIdFor("post", "/v1/integrations/failures/{id}/retry")).toBe("retryIntegrationsFailure");
    expect(operationIdFor("get", "/v1/orders/{id}/notifications")).toBe("listOrderNotifications");
    expect(operationIdFor("get", "/v1/reports/fill-rate")).toBe("getFillRateReport");
    expect(operationIdFor("put", "/v1/settings/tax")).toBe("updateTaxSettings");
    expect(operationIdFor("delete", "/v1/reservations/{id}")).toBe("deleteReservation");
    expect(singular("categories")).toBe("category");
    expect(singular("boxes")).toBe("box");
    expect(singular("status")).toBe("status");
  });

  it("refuses a document in which two operations would share a name", () => {
    const op = { summary: "x", responses: { "200": { description: "ok" } }, tags: ["orders"] };
    const clash: OpenApiDocument = {
      openapi: "3.1.0",
      info: {},
      paths: {
        "/v1/things/{id}": { get: { ...op, operationId: "listThings" } },
        "/v1/things": { get: { ...op } },
      },
    };
    expect(() => completeDocument(clash)).toThrow(/operationId listThings/);
  });

  it("refuses a tag it has no description for", () => {
    const bad: OpenApiDocument = {
      openapi: "3.1.0",
      info: {},
      paths: { "/v1/x": { get: { summary: "x", responses: { "200": {} }, tags: ["nowhere"] } } },
    };
    expect(() => completeDocument(bad)).toThrow(/nowhere/);
  });
});
