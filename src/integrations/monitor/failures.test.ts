import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { inTransaction } from "../../db/tx.js";
import { recordFailure, resolveFailure } from "./failures.js";

let t: TestContext;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

describe("integration failures", () => {
  it("keeps one open failure per source, operation and subject, and resolves it on a later success", async () => {
    const f = { source: "shopify", channel: "shop-eu", operation: "push_inventory", subject: "TEE@MAIN" };
    const a = await inTransaction(t.db, (tx) => recordFailure(tx, { ...f, error: "timeout" }));
    const b = await inTransaction(t.db, (tx) => recordFailure(tx, { ...f, error: "HTTP 503" }));
    expect(b).toBe(a);
    const open = await t.db
      .selectFrom("integration_failures")
      .selectAll()
      .where("id", "=", a)
      .executeTakeFirstOrThrow();
    expect(open).toMatchObject({ attempts: 2, error: "HTTP 503", status: "open", channel_code: "shop-eu" });

    expect(await inTransaction(t.db, (tx) => resolveFailure(tx, f))).toBe(true);
    expect(await inTransaction(t.db, (tx) => resolveFailure(tx, f))).toBe(false);
    const c = await inTransaction(t.db, (tx) => recordFailure(tx, { ...f, error: "again" }));
    expect(c).not.toBe(a);
  });
});
