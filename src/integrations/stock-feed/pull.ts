import { sql } from "kysely";
import { z } from "zod";
import type { DB } from "../../db/pool.js";
import { inTransaction } from "../../db/tx.js";
import { ValidationFailed } from "../../http/errors.js";
import { recordFailure, resolveFailure } from "../monitor/failures.js";
import type { RetryHandler } from "../monitor/retry.js";
import { applyStockFeed, MAX_LEVELS } from "./feed.js";
import "../../db/schema-stockfeed.js";

/**
 * Pull mode of the stock feed (seed 003: the ERP is asked "what changed since
 * my cursor"). A channel of kind `webhook` with `config.stock_feed.url` is
 * polled every `every_seconds` with `GET <url>?changedSince=<cursor>` and
 * answers a page:
 *
 *   {"as_of": "2026-12-03T10:00:00Z", "levels": [{"sku", "location", "on_hand"}],
 *    "next_cursor": "…", "has_more": false}
 *
 * The page goes through the same rules as a pushed batch (applyStockFeed:
 * stale, unchanged, short, unknown). The cursor moves in the transaction that
 * applied the page and only if it is still the one the page was asked with,
 * so a crash between fetch and commit fetches the same page again, and a
 * process whose lease ran out cannot move it back.
 */

export const PullSettings = z.object({
  url: z.url({ protocol: /^https?$/ }),
  every_seconds: z.number().int().min(5).max(86_400).default(60),
  access_token: z.string().min(1).optional(),
});
export type PullSettings = z.infer<typeof PullSettings>;

const Page = z.object({
  as_of: z.iso.datetime({ offset: true }),
  levels: z.array(
    z.object({
      sku: z.string().min(1).max(64),
      location: z.string().min(1).max(64),
      on_hand: z.number().int().min(0).max(1_000_000_000),
    }),
  ),
  next_cursor: z.string().max(1000),
  has_more: z.boolean().optional(),
});

export const PULL_TIMEOUT_MS = 10_000;
/** A feed that keeps answering `has_more` is continued on the next round after this many pages. */
const PAGES_PER_ROUND = 20;
const LEASE = "2 minutes";

interface Due {
  channel_id: number;
  code: string;
  cursor: string;
  config: { stock_feed?: unknown };
}

/** One round: every due feed pulled until it has nothing more (or 20 pages). Returns levels applied. */
export async function pullStockFeeds(db: DB): Promise<number> {
  await sql`
    insert into stock_feed_pulls (channel_id)
    select id from channels where kind = 'webhook' and config->'stock_feed'->>'url' is not null
    on conflict do nothing`.execute(db);
  const due = await sql<Due>`
    update stock_feed_pulls p set leased_until = now() + ${LEASE}::interval
    from channels c
    where c.id = p.channel_id and p.channel_id in (
      select q.channel_id from stock_feed_pulls q join channels k on k.id = q.channel_id
      where q.next_run_at <= now() and (q.leased_until is null or q.leased_until < now())
        and k.kind = 'webhook' and k.config->'stock_feed'->>'url' is not null
      order by q.next_run_at limit 10
      for update of q skip locked)
    returning p.channel_id, c.code, p.cursor, c.config`.execute(db);
  let applied = 0;
  for (const d of due.rows) applied += await pullFeed(db, d);
  return applied;
}

async function pullFeed(db: DB, due: Due): Promise<number> {
  const parsed = PullSettings.safeParse(due.config.stock_feed);
  let cursor = due.cursor;
  let applied = 0;
  try {
    if (!parsed.success) throw new Error(`config.stock_feed is invalid: ${z.prettifyError(parsed.error)}`);
    const settings = parsed.data;
    for (let page = 0; page < PAGES_PER_ROUND; page++) {
      const body = await fetchPage(settings, cursor);
      const outcome = await inTransaction(db, async (tx) => {
        const row = await tx
          .selectFrom("stock_feed_pulls")
          .select("cursor")
          .where("channel_id", "=", due.channel_id)
          .forUpdate()
          .executeTakeFirst();
        if (row?.cursor !== cursor) return "moved" as const;
        let n = 0;
        for (let i = 0; i < body.levels.length; i += MAX_LEVELS) {
          const r = await applyStockFeed(
            tx,
            {
              source: `channel:${due.code}`,
              as_of: body.as_of,
              levels: body.levels.slice(i, i + MAX_LEVELS),
            },
            `channel:${due.code}`,
          );
          n += r.applied;
        }
        const more = body.has_more === true && body.next_cursor !== cursor;
        await sql`
          update stock_feed_pulls set cursor = ${body.next_cursor}, pulled_levels = pulled_levels + ${body.levels.length},
            last_success_at = now(), last_error = null, consecutive_failures = 0,
            leased_until = ${more ? sql`leased_until` : null},
            next_run_at = ${more ? sql`now()` : sql`now() + make_interval(secs => ${settings.every_seconds})`}
          where channel_id = ${due.channel_id}`.execute(tx);
        await resolveFailure(tx, { source: "stock-feed-pull", operation: "pull", subject: due.code });
        return { n, more };
      });
      if (outcome === "moved") return applied;
      applied += outcome.n;
      cursor = body.next_cursor;
      if (!outcome.more) return applied;
    }
    // more pages remain: release the lease so the next round (in any process) goes on at once
    await sql`update stock_feed_pulls set leased_until = null, next_run_at = now() where channel_id = ${due.channel_id}`.execute(
      db,
    );
    return applied;
  } catch (err) {
    const error = describe(err);
    await inTransaction(db, async (tx) => {
      const r = await sql<{ consecutive_failures: number }>`
        update stock_feed_pulls set leased_until = null, last_error = ${error},
          consecutive_failures = consecutive_failures + 1
        where channel_id = ${due.channel_id} returning consecutive_failures`.execute(tx);
      const failures = r.rows[0]?.consecutive_failures ?? 1;
      const every = parsed.success ? parsed.data.every_seconds : 60;
      await sql`update stock_feed_pulls set next_run_at = now() + make_interval(secs => ${backoffSeconds(failures, every)})
        where channel_id = ${due.channel_id}`.execute(tx);
      await recordFailure(tx, {
        source: "stock-feed-pull",
        channel: due.code,
        operation: "pull",
        subject: due.code,
        error,
        detail: { cursor, url: parsed.success ? parsed.data.url : null },
      });
    });
    return applied;
  }
}

/** After n failures in a row: the feed's own interval, doubled per failure from 30 s, at most an hour. */
export function backoffSeconds(failures: number, everySeconds: number): number {
  return Math.max(everySeconds, Math.min(3600, 30 * 2 ** Math.max(0, failures - 1)));
}

async function fetchPage(settings: PullSettings, cursor: string): Promise<z.infer<typeof Page>> {
  const url = new URL(settings.url);
  if (cursor) url.searchParams.set("changedSince", cursor);
  const res = await fetch(url, {
    headers: {
      accept: "application/json",
      ...(settings.access_token ? { authorization: `Bearer ${settings.access_token}` } : {}),
    },
    signal: AbortSignal.timeout(PULL_TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(`GET ${url.origin}${url.pathname} answered ${res.status}: ${text.slice(0, 300)}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`GET ${url.origin}${url.pathname} did not answer JSON: ${text.slice(0, 100)}`);
  }
  const page = Page.safeParse(json);
  if (!page.success)
    throw new Error(`the feed's page is not in the expected shape: ${z.prettifyError(page.error)}`);
  return page.data;
}

function describe(err: unknown): string {
  if (err instanceof ValidationFailed) {
    return `the page was refused whole: ${err.message}`;
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return `no answer within ${PULL_TIMEOUT_MS / 1000} s`;
  return e?.cause?.code ? `${e.message} (${e.cause.code})` : String(e?.message ?? err);
}

/** Retrying a pull failure asks the feed again at once; a new failure is recorded if it still fails. */
export const retryPullFailure: RetryHandler = async (failure, tx) => {
  const res = await sql`
    update stock_feed_pulls p set next_run_at = now(), leased_until = null
    from channels c where c.id = p.channel_id and c.code = ${failure.channel_code}`.execute(tx);
  if (Number(res.numAffectedRows ?? 0) === 0)
    throw new Error("the channel no longer has a stock feed to pull");
};
