import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { purgeIdempotencyKeys } from "../jobs.js";
import { createApiKey } from "./auth.js";

let t: TestContext;
let other: { authorization: string };
beforeAll(async () => {
  t = await testApp();
  other = { authorization: `Bearer ${(await createApiKey(t.db, "idem-other")).key}` };
});
afterAll(() => t.close());

const post = (auth: { authorization: string }, key: string, code: string) =>
  t.app.inject({
    method: "POST",
    url: "/v1/locations",
    headers: { ...auth, "idempotency-key": key },
    payload: { code, name: code, kind: "warehouse" },
  });

describe("Idempotency-Key records", () => {
  it("are scoped per principal: another key using the same Idempotency-Key gets its own write", async () => {
    const a = await post(t.auth, "shared-key-1", "IDEM-A");
    expect(a.statusCode).toBe(201);
    const b = await post(other, "shared-key-1", "IDEM-B"); // a different body: not a 422 mismatch
    expect(b.statusCode, b.body).toBe(201);
    expect(b.headers["idempotent-replayed"]).toBeUndefined();
    const again = await post(other, "shared-key-1", "IDEM-B");
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json().id).toBe(b.json().id);
  });

  it("are kept 24 hours, then pruned by the job; a retry after that is a new request", async () => {
    expect((await post(t.auth, "old-key", "IDEM-OLD")).statusCode).toBe(201);
    expect((await post(t.auth, "day-key", "IDEM-DAY")).statusCode).toBe(201);
    await sql`update idempotency_keys set created_at = now() - interval '24 hours 1 minute' where key = 'old-key'`.execute(
      t.db,
    );
    await sql`update idempotency_keys set created_at = now() - interval '23 hours 59 minutes' where key = 'day-key'`.execute(
      t.db,
    );
    expect(await purgeIdempotencyKeys(t.db)).toBeGreaterThanOrEqual(1);
    const left = await sql<{ key: string }>`
      select key from idempotency_keys where key in ('old-key', 'day-key')`.execute(t.db);
    expect(left.rows.map((r) => r.key)).toEqual(["day-key"]);

    // within the day: replayed; after the purge: run again (here it meets the existing code: 409)
    expect((await post(t.auth, "day-key", "IDEM-DAY")).headers["idempotent-replayed"]).toBe("true");
    const late = await post(t.auth, "old-key", "IDEM-OLD");
    expect(late.headers["idempotent-replayed"]).toBeUndefined();
    expect(late.statusCode).toBe(409);
  });
});
