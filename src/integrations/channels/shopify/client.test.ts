import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeShopify } from "../../../../test/fakes/shopify.js";
import { type TestContext, testApp } from "../../../../test/helpers.js";
import { ShopifyClient, ShopifyError } from "./client.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

async function fake(opts: ConstructorParameters<typeof FakeShopify>[0] = {}) {
  const f = new FakeShopify(opts);
  await f.start();
  return f;
}

function client(
  f: FakeShopify,
  channel: string,
  opts: Partial<ConstructorParameters<typeof ShopifyClient>[0]> = {},
) {
  return new ShopifyClient({
    channel,
    endpoint: `${f.url}/admin/api/2026-07/graphql.json`,
    accessToken: f.token,
    db: t.db,
    backoff: { baseMs: 20, capMs: 200 },
    timeoutMs: 2000,
    ...opts,
  });
}

interface SetAnswer {
  inventorySetQuantities: {
    inventoryAdjustmentGroup: { id: string } | null;
    userErrors: { code: string; field: string[]; message: string }[];
  };
}

const SET = (key: string) => `mutation SetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: "${key}") {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}`;

function input(f: FakeShopify, sku: string, quantity: number, changeFromQuantity: number | null) {
  return {
    input: {
      name: "available",
      reason: "correction",
      referenceDocumentUri: "gid://keel/Test/1",
      quantities: [
        { inventoryItemId: f.itemOf(sku), locationId: f.locations[0], quantity, changeFromQuantity },
      ],
    },
  };
}

async function openFailures(channel: string) {
  return t.db
    .selectFrom("integration_failures")
    .select(["subject", "status", "attempts"])
    .where("channel_code", "=", channel)
    .orderBy("id")
    .execute();
}

describe("Shopify GraphQL client against the fake shop", () => {
  it("reads the fixture's variants and levels, with the cost the shop reports", async () => {
    const f = await fake();
    const c = client(f, "c-read");
    const r = await c.request<{
      productVariants: { nodes: { sku: string; inventoryItem: { id: string } }[] };
    }>(
      "query Variants { productVariants(first: 10) { pageInfo { hasNextPage endCursor } nodes { id sku inventoryItem { id } } } }",
    );
    expect(r.data.productVariants.nodes.map((n) => n.sku)).toEqual([
      "IPOD2008PINK",
      "IPOD2008RED",
      "IPOD2008GREEN",
      "IPOD2008BLACK",
    ]);
    expect(r.cost?.requestedQueryCost).toBe(2 + 10 * 1); // a connection of 10 nodes with one object each
    expect(r.cost?.actualQueryCost).toBe(2 + 4 * 1);
    expect(r.cost?.throttleStatus).toMatchObject({ maximumAvailable: 2000, restoreRate: 100 });
    await f.close();
  });

  it("requires @idempotent and changeFromQuantity; compare-and-set fails stale; a replayed key applies once", async () => {
    const f = await fake();
    const c = client(f, "c-cas");
    const missing = await c
      .request(
        "mutation S($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }",
        input(f, "IPOD2008RED", 5, 20),
      )
      .catch((e) => e);
    expect(missing).toBeInstanceOf(ShopifyError);
    expect(String(missing.message)).toMatch(/@idempotent directive is required/);

    const noChangeFrom = input(f, "IPOD2008RED", 5, 0) as {
      input: { quantities: Record<string, unknown>[] };
    };
    delete noChangeFrom.input.quantities[0].changeFromQuantity;
    const r0 = await c.request<SetAnswer>(SET("k0"), noChangeFrom);
    expect(r0.data.inventorySetQuantities.userErrors[0].field).toEqual([
      "input",
      "quantities",
      "0",
      "changeFromQuantity",
    ]);

    const stale = await c.request<SetAnswer>(SET("k1"), input(f, "IPOD2008RED", 5, 19));
    expect(stale.data.inventorySetQuantities.userErrors[0].code).toBe("CHANGE_FROM_QUANTITY_STALE");
    expect(f.available("IPOD2008RED", f.locations[0])).toBe(20);

    const ok = await c.request<SetAnswer>(SET("k2"), input(f, "IPOD2008RED", 5, 20));
    expect(ok.data.inventorySetQuantities.userErrors).toEqual([]);
    f.storefrontSale("IPOD2008RED", f.locations[0], 1); // 4 now
    const replay = await c.request<SetAnswer>(SET("k2"), input(f, "IPOD2008RED", 5, 20));
    expect(replay.data).toEqual(ok.data);
    expect(f.available("IPOD2008RED", f.locations[0])).toBe(4); // not applied twice
    const mismatch = await c.request<SetAnswer>(SET("k2"), input(f, "IPOD2008RED", 6, 4));
    expect(mismatch.data.inventorySetQuantities.userErrors[0].code).toBe(
      "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
    );
    const again = await c.request<SetAnswer>(SET("k1"), input(f, "IPOD2008RED", 5, 19));
    expect(again.data.inventorySetQuantities.userErrors[0].code).toBe("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED");
    expect(f.setCalls.map((s) => s.outcome)).toEqual([
      "error",
      "stale",
      "applied",
      "replayed",
      "error",
      "error",
    ]);
    await f.close();
  });

  it("budgets from throttleStatus: 40 calls over a 100-point bucket are never THROTTLED after the first answer", async () => {
    const f = await fake({ maximumAvailable: 100, restoreRate: 400 });
    const c = client(f, "c-budget");
    for (let i = 0; i < 40; i++)
      await c.request(SET(`b${i}`), input(f, "IPOD2008PINK", i, null), { estimatedCost: 10 });
    expect(f.counts.throttled).toBe(0);
    expect(f.setCalls.filter((s) => s.outcome === "applied")).toHaveLength(40);
    await f.close();
  });

  it("waits out THROTTLED for the time the missing points take, records it and resolves it", async () => {
    const f = await fake({ maximumAvailable: 100, restoreRate: 50 });
    f.drainBucket(); // another app used the bucket up
    const c = client(f, "c-throttle");
    const r = await c.request<SetAnswer>(SET("t1"), input(f, "IPOD2008PINK", 3, null));
    expect(r.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(f.counts.throttled).toBeGreaterThanOrEqual(1);
    expect(await openFailures("c-throttle")).toEqual([
      { subject: "c-throttle:throttled", status: "resolved", attempts: expect.any(Number) },
    ]);
    await f.close();
  });

  it("429 waits Retry-After in seconds; 5xx and a refused connection back off; all resolved once through", async () => {
    const f = await fake();
    const c = client(f, "c-faults", { maxAttempts: 30 });
    const seen: number[] = [];
    f.beforeSet = () => seen.push(Date.now());
    f.rateLimit(1, "1.0");
    const started = Date.now();
    await c.request(SET("r1"), input(f, "IPOD2008PINK", 1, null));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After: 1.0 is a second, not 1 ms
    f.serverErrors(2, 503);
    await c.request(SET("r2"), input(f, "IPOD2008PINK", 2, 1));
    await f.down(600);
    const during = await openFailures("c-faults");
    expect(during.every((x) => x.status === "resolved")).toBe(true);
    await c.request(SET("r3"), input(f, "IPOD2008PINK", 3, 2));
    const after = await openFailures("c-faults");
    expect(after.map((x) => x.subject).sort()).toEqual(
      ["c-faults:rate_limited", "c-faults:server_error", "c-faults:unreachable"].sort(),
    );
    expect(after.every((x) => x.status === "resolved")).toBe(true);
    expect(f.available("IPOD2008PINK", f.locations[0])).toBe(3);
    await f.close();
  });

  it("gives up after maxAttempts with the failure left open", async () => {
    const f = await fake();
    const c = client(f, "c-down", { maxAttempts: 3 });
    await f.down(60_000);
    const err = await c.request(SET("d1"), input(f, "IPOD2008PINK", 1, null)).catch((e) => e);
    expect(err).toBeInstanceOf(ShopifyError);
    expect(err.problem).toBe("unreachable");
    expect(await openFailures("c-down")).toEqual([
      { subject: "c-down:unreachable", status: "open", attempts: 3 },
    ]);
    await f.close();
  });

  it("a dropped reply is sent again with the same key and applied once", async () => {
    const f = await fake();
    const c = client(f, "c-drop");
    f.dropReplies(1);
    const r = await c.request<SetAnswer>(SET("x1"), input(f, "IPOD2008GREEN", 7, 30));
    expect(r.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(f.setCalls.map((s) => s.outcome)).toEqual(["applied", "replayed"]);
    expect(f.available("IPOD2008GREEN", f.locations[0])).toBe(7);
    await f.close();
  });
});
