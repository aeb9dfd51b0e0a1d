import type { FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import type { DB } from "../db/pool.js";
import { NotFound, ValidationFailed } from "../http/errors.js";
import { matchesType } from "../integrations/dispatch/consumer.js";
import type { EventFeed } from "./feed.js";
import { listEvents, type OutboxEvent } from "./outbox.js";

const BATCH = 500;

/** The id of the newest event every reader can already see: where a stream without a cursor starts. */
async function newestCommitted(db: DB): Promise<number> {
  const last = await sql<{ id: number }>`
    select id from outbox_events where txid < pg_snapshot_xmin(pg_current_snapshot())
    order by txid desc, id desc limit 1`.execute(db);
  return Number(last.rows[0]?.id ?? 0);
}

/**
 * Where a stream resumes: `Last-Event-ID` (what EventSource sends on a
 * reconnect) wins over `?after=`; neither means "from now". An id that is no
 * event is a 404 before any byte of the stream is written.
 */
export async function resumePoint(db: DB, header: unknown, after: number | undefined): Promise<number> {
  let from = after;
  if (typeof header === "string" && header.trim() !== "") {
    const n = Number(header.trim());
    if (!Number.isSafeInteger(n) || n < 0)
      throw new ValidationFailed([{ path: "header.last-event-id", message: "must be an event id" }], 400);
    from = n;
  }
  if (from === undefined) return newestCommitted(db);
  if (from > 0) {
    const hit = await db.selectFrom("outbox_events").select("id").where("id", "=", from).executeTakeFirst();
    if (!hit) throw new NotFound("event", from);
  }
  return from;
}

export function frame(e: OutboxEvent): string {
  const data = JSON.stringify({
    id: e.id,
    type: e.type,
    created_at: new Date(e.created_at).toISOString(),
    data: e.payload,
  });
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${data}\n\n`;
}

/**
 * Serves one Server-Sent Events connection: the outbox after `after` in
 * commit-safe order, filtered by `types`. The app's EventFeed only wakes the
 * stream; the stream reads with its own cursor, so what it sends does not
 * depend on when the feed last polled and a resume is exact.
 */
export function serveStream(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: { db: DB; feed: EventFeed; after: number; types?: string[]; heartbeatMs: number },
): void {
  const { db, feed, types } = opts;
  let after = opts.after;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.write(": stream open\n\n");

  let closed = false;
  let draining: Promise<void> | undefined;
  let again = false;
  const writeOut = async (chunk: string) => {
    if (res.write(chunk) || closed) return;
    await new Promise<void>((resolve) => {
      res.once("drain", resolve);
      res.once("close", resolve);
    });
  };
  const drain = async () => {
    do {
      again = false;
      for (;;) {
        const events = await listEvents(db, { after, limit: BATCH });
        if (closed || events.length === 0) break;
        for (const e of events) {
          after = e.id;
          if (matchesType(e.type, types)) await writeOut(frame(e));
          if (closed) return;
        }
        if (events.length < BATCH) break;
      }
    } while (again && !closed);
  };
  const wake = () => {
    if (closed) return;
    if (draining) {
      again = true;
      return;
    }
    draining = drain()
      .catch((err) => {
        req.log.warn({ err }, "event stream failed");
        end();
        res.destroy();
      })
      .finally(() => {
        draining = undefined;
      });
  };
  // the feed reads no payloads on this listener's behalf: the stream reads its own
  const unsubscribe = feed.subscribe(wake, []);
  const heartbeat = setInterval(() => {
    if (!closed) res.write(": heartbeat\n\n");
    wake(); // also a safety net should the feed not be polling
  }, opts.heartbeatMs);
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.raw.on("close", end);
  res.on("close", end);
  res.on("error", end);
  wake();
}
