import { createServer, type Server } from "node:http";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, exited, spawnCli, waitForOutput } from "../../../test/cli.js";
import { testDatabase } from "../../../test/helpers.js";
import { createDb, type DB } from "../../db/pool.js";
import { inTransaction } from "../../db/tx.js";
import { emit } from "../../events/outbox.js";

/**
 * kill -9 of a Keel process in the middle of delivering webhooks: after a new
 * process starts on the same database, every event reaches the receiver, in
 * event order (first arrivals), each recorded once in the delivery table. The
 * run of deliveries in flight when the process died (at most 50, recorded
 * together) may arrive twice (the receiver de-duplicates by Keel-Event-Id, as
 * docs/integrations.md says); none may be missing.
 */
const EVENTS = 200;
let server: Server;
let receiverUrl: string;
const arrivals: number[] = [];
let db: DB;
let dbUrl: string;
let drop: () => Promise<void>;
const children = new Set<ReturnType<typeof spawnCli>>();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      arrivals.push(Number(req.headers["keel-event-id"]));
      setTimeout(() => res.writeHead(200).end(), 15); // slow enough that deliveries are in flight when killed
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const database = await testDatabase();
  dbUrl = database.url;
  drop = database.drop;
  db = createDb(dbUrl, 4);
});
afterAll(async () => {
  for (const c of children) {
    c.kill("SIGKILL");
    await exited(c);
  }
  await db.destroy();
  await drop();
  server.close();
});

async function startKeel(): Promise<{ child: ReturnType<typeof spawnCli>; url: string; key: string }> {
  const child = spawnCli(["start"], cliEnv({ DATABASE_URL: dbUrl, PORT: "0", HOST: "127.0.0.1" }));
  children.add(child);
  const [, key] = await waitForOutput(child, /^API key: (keel_\S+)$/m);
  const url = child.out.stdout.match(/ready at (http:\/\/\S+)/)?.[1];
  if (!url) throw new Error(child.out.stdout);
  return { child, url, key };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("webhook delivery across kill -9", () => {
  it("delivers every event after a restart, in order, none missing", async () => {
    const first = await startKeel();
    const res = await fetch(`${first.url}/v1/webhook-subscriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${first.key}`, "content-type": "application/json" },
      body: JSON.stringify({ url: receiverUrl, events: ["crash.*"] }),
    });
    expect(res.status).toBe(201);
    // the webhook consumer starts at "now" on its first tick; emit only after it has one
    await until(async () =>
      Boolean(
        await db
          .selectFrom("outbox_cursors")
          .select("consumer")
          .where("consumer", "=", "webhooks")
          .executeTakeFirst(),
      ),
    );
    const ids: number[] = [];
    for (let i = 0; i < EVENTS; i += 10) {
      await inTransaction(db, (tx) =>
        emit(
          tx,
          Array.from({ length: 10 }, (_, k) => ({ type: "crash.test", payload: { n: i + k } })),
        ),
      );
    }
    for (const r of (
      await sql<{ id: number }>`select id from outbox_events where type = 'crash.test' order by id`.execute(
        db,
      )
    ).rows)
      ids.push(Number(r.id));
    expect(ids).toHaveLength(EVENTS);

    await until(() => arrivals.length >= 30);
    first.child.kill("SIGKILL");
    await exited(first.child);
    children.delete(first.child);
    const beforeRestart = new Set(arrivals).size;
    expect(beforeRestart).toBeLessThan(EVENTS); // the kill really came mid-way

    const second = await startKeel();
    await until(() => new Set(arrivals).size === EVENTS);
    const firstArrivals = arrivals.filter((id, i) => arrivals.indexOf(id) === i);
    expect(firstArrivals).toEqual(ids);
    // at most the run in flight at the kill (a run's results are recorded together, 50 by default)
    expect(arrivals.length - EVENTS).toBeLessThanOrEqual(50);

    await until(async () => {
      const r = await sql<{ n: number }>`
        select count(*)::int as n from webhook_deliveries where status = 'delivered' and replay_of is null`.execute(
        db,
      );
      return r.rows[0]?.n === EVENTS;
    });
    const twice = await sql<{ n: number }>`
      select count(*)::int as n from (select event_id from webhook_deliveries group by event_id having count(*) > 1) d`.execute(
      db,
    );
    expect(twice.rows[0]?.n).toBe(0);
    second.child.kill("SIGTERM");
    expect((await exited(second.child)).code).toBe(0);
    children.delete(second.child);
  });
});
