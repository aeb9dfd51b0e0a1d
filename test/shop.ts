import { expect } from "vitest";
import { auditLedger } from "../src/inventory/audit.js";
import type { TestContext } from "./helpers.js";

/** Builds a small shop through the API, for module tests: locations, products, stock. */

export async function api(
  t: TestContext,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  body?: unknown,
  headers = {},
) {
  return t.app.inject({
    method,
    url,
    headers: { ...t.auth, ...headers },
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

export async function ok<T = any>(
  t: TestContext,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  body?: unknown,
  status?: number,
): Promise<T> {
  const res = await api(t, method, url, body);
  if (status ? res.statusCode !== status : res.statusCode >= 300) {
    throw new Error(`${method} ${url} -> ${res.statusCode} ${res.body}`);
  }
  return res.json() as T;
}

export async function location(t: TestContext, code: string, priority = 100, country = "DE") {
  return ok(t, "POST", "/v1/locations", { code, name: code, kind: "warehouse", priority, country }, 201);
}

export async function product(
  t: TestContext,
  skus: string[],
  opts: {
    kind?: "physical" | "digital" | "bundle";
    policy?: string;
    threshold?: number;
    components?: { sku: string; quantity: number }[];
  } = {},
) {
  return ok(
    t,
    "POST",
    "/v1/products",
    {
      title: `Product ${skus[0]}`,
      kind: opts.kind ?? "physical",
      status: "active",
      ...(skus.length > 1 ? { options: ["Variant"] } : {}),
      variants: skus.map((sku) => ({
        sku,
        ...(skus.length > 1 ? { options: { Variant: sku } } : {}),
        price: 1500,
        currency: "EUR",
        ...(opts.policy ? { inventory_policy: opts.policy } : {}),
        ...(opts.threshold !== undefined ? { low_stock_threshold: opts.threshold } : {}),
      })),
      ...(opts.components ? { components: opts.components } : {}),
    },
    201,
  );
}

export async function stock(t: TestContext, sku: string, loc: string, onHand: number, bucket = "on_hand") {
  return ok(
    t,
    "POST",
    "/v1/inventory/adjustments",
    { sku, location: loc, set: onHand, bucket, reason: "initial" },
    201,
  );
}

export async function level(t: TestContext, sku: string, loc: string) {
  const res = await ok(t, "GET", `/v1/inventory/levels?sku=${encodeURIComponent(sku)}&location=${loc}`);
  return res.data[0] as Record<string, number> | undefined;
}

/** The ledger equals every balance and no invariant is broken. */
export async function expectLedgerConsistent(t: TestContext) {
  expect(await auditLedger(t.db)).toEqual([]);
}

/**
 * Reads /v1/events until `enough` holds. The feed only hands out events once
 * every older transaction on the server has ended (so none is ever skipped);
 * on a server shared with other work that can lag a commit by a moment.
 */
export async function eventsWhen<T = any>(
  t: TestContext,
  url: string,
  enough: (data: T[]) => boolean,
  timeoutMs = 20_000,
): Promise<T[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const data = (await ok<{ data: T[] }>(t, "GET", url)).data;
    if (enough(data) || Date.now() > until) return data;
    await new Promise((r) => setTimeout(r, 100));
  }
}
