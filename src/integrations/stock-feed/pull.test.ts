import { createServer, type Server } from "node:http";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../../test/helpers.js";
import { expectLedgerConsistent, level, location, ok, product } from "../../../test/shop.js";
import { backoffSeconds, pullStockFeeds } from "./pull.js";

/**
 * A local ERP that answers `GET /levels?changedSince=<cursor>` from a list of
 * pages: the cursor is the index of the next page. `mode` switches it into
 * failing in the ways a real one does.
 */
interface ErpPage {
  as_of: string;
  levels: { sku: string; location: string; on_hand: number }[];
}
const erp = {
  pages: [] as ErpPage[],
  mode: "ok" as "ok" | "500" | "drop" | "garbage",
  requests: [] as { cursor: string | null; auth: string | undefined }[],
};
let server: Server;
let url: string;
let t: TestContext;

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const cursor = u.searchParams.get("changedSince");
    erp.requests.push({ cursor, auth: req.headers.authorization });
    if (erp.mode === "500") return res.writeHead(500).end("database locked");
    if (erp.mode === "drop") return req.socket.destroy();
    if (erp.mode === "garbage") return res.writeHead(200, { "content-type": "application/json" }).end("{]");
    const from = cursor ? Number(cursor) : 0;
    const page = erp.pages[from];
    const body = page
      ? { ...page, next_cursor: String(from + 1), has_more: from + 1 < erp.pages.length }
      : { as_of: new Date().toISOString(), levels: [], next_cursor: String(from), has_more: false };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/levels`;
  t = await testApp();
  await location(t, "WH1", 1);
  await product(t, ["P-1", "P-2"]);
  await ok(
    t,
    "POST",
    "/v1/channels",
    {
      kind: "webhook",
      name: "ERP",
      code: "erp",
      config: { stock_feed: { url, every_seconds: 60, access_token: "s3cret" } },
    },
    201,
  );
});
afterAll(async () => {
  await t.close();
  server.close();
});

const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 0, min)).toISOString();
const pullRow = async () =>
  (
    await sql<{
      cursor: string;
      consecutive_failures: number;
      leased_until: Date | null;
    }>`select cursor, consecutive_failures, leased_until from stock_feed_pulls`.execute(t.db)
  ).rows[0];
const makeDue = () => sql`update stock_feed_pulls set next_run_at = now()`.execute(t.db);
const openFailures = async () =>
  (await ok(t, "GET", "/v1/integrations/failures?status=open&channel=erp")).data.filter(
    (f: { source: string }) => f.source === "stock-feed-pull",
  );

describe("stock feed, pull mode", () => {
  it("follows the cursor through every page, sending the token, and waits its interval after", async () => {
    erp.pages = [
      { as_of: at(1), levels: [{ sku: "P-1", location: "WH1", on_hand: 10 }] },
      {
        as_of: at(2),
        levels: [
          { sku: "P-1", location: "WH1", on_hand: 12 },
          { sku: "P-2", location: "WH1", on_hand: 5 },
        ],
      },
    ];
    expect(await pullStockFeeds(t.db)).toBe(3);
    expect(erp.requests.map((r) => r.cursor)).toEqual([null, "1"]);
    expect(erp.requests[0]!.auth).toBe("Bearer s3cret");
    expect((await level(t, "P-1", "WH1"))?.on_hand).toBe(12);
    expect((await level(t, "P-2", "WH1"))?.on_hand).toBe(5);
    expect(await pullRow()).toMatchObject({ cursor: "2", leased_until: null });
    // not due again before its interval
    erp.requests = [];
    expect(await pullStockFeeds(t.db)).toBe(0);
    expect(erp.requests).toHaveLength(0);
  });

  it("keeps the cursor where it was when the feed fails, records the failure, and resolves it on success", async () => {
    for (const mode of ["500", "drop", "garbage"] as const) {
      erp.mode = mode;
      await makeDue();
      expect(await pullStockFeeds(t.db)).toBe(0);
      expect(await pullRow()).toMatchObject({ cursor: "2", leased_until: null });
    }
    const [failure] = await openFailures();
    expect(failure).toMatchObject({ channel: "erp", operation: "pull", attempts: 3 });
    expect((await pullRow())?.consecutive_failures).toBe(3);

    // the ERP is back; a retry from the monitor asks again at once
    erp.mode = "ok";
    erp.pages.push({ as_of: at(3), levels: [{ sku: "P-2", location: "WH1", on_hand: 9 }] });
    await ok(t, "POST", `/v1/integrations/failures/${failure.id}/retry`, {});
    expect(await pullStockFeeds(t.db)).toBe(1);
    expect((await level(t, "P-2", "WH1"))?.on_hand).toBe(9);
    expect(await pullRow()).toMatchObject({ cursor: "3", consecutive_failures: 0 });
    expect(await openFailures()).toHaveLength(0);
  });

  it("refuses a page with the same level twice as a whole and does not move past it", async () => {
    erp.pages.push({
      as_of: at(4),
      levels: [
        { sku: "P-1", location: "WH1", on_hand: 1 },
        { sku: "P-1", location: "WH1", on_hand: 2 },
      ],
    });
    await makeDue();
    expect(await pullStockFeeds(t.db)).toBe(0);
    expect((await pullRow())?.cursor).toBe("3");
    expect((await level(t, "P-1", "WH1"))?.on_hand).toBe(12);
    const [failure] = await openFailures();
    expect(failure.error).toMatch(/refused whole.*more than once/);
    // the ERP fixes that page: the next pull applies it and moves on
    erp.pages[3] = { as_of: at(4), levels: [{ sku: "P-1", location: "WH1", on_hand: 2 }] };
    await makeDue();
    expect(await pullStockFeeds(t.db)).toBe(1);
    expect((await pullRow())?.cursor).toBe("4");
    await expectLedgerConsistent(t);
  });

  it("applies an old page again without effect (a re-fetch after a crash) and skips a leased feed", async () => {
    // a process that died after applying but before the cursor moved would fetch page 3 again
    await sql`update stock_feed_pulls set cursor = '3', next_run_at = now()`.execute(t.db);
    expect(await pullStockFeeds(t.db)).toBe(0);
    expect((await level(t, "P-1", "WH1"))?.on_hand).toBe(2);
    // another process holds the lease: this one leaves the feed alone
    await sql`update stock_feed_pulls set next_run_at = now(), leased_until = now() + interval '1 minute'`.execute(
      t.db,
    );
    erp.requests = [];
    expect(await pullStockFeeds(t.db)).toBe(0);
    expect(erp.requests).toHaveLength(0);
  });

  it("backs off from 30 s, never below the feed's interval, at most an hour", () => {
    expect([1, 2, 3, 10].map((n) => backoffSeconds(n, 5))).toEqual([30, 60, 120, 3600]);
    expect(backoffSeconds(1, 300)).toBe(300);
  });
});
