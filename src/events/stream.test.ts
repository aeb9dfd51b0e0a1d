import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../test/helpers.js";
import { createDb, type DB } from "../db/pool.js";
import { inTransaction } from "../db/tx.js";
import { type App, buildApp } from "../http/app.js";
import { createApiKey } from "../http/auth.js";
import { emit } from "./outbox.js";

/** The outbox as Server-Sent Events: exact resume, filters, heartbeats, and nothing left behind on disconnect. */
let db: DB;
let app: App;
let base: string;
let auth: { authorization: string };
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await testDatabase();
  drop = database.drop;
  db = createDb(database.url, 10);
  app = await buildApp({ db, feedIntervalMs: 20, heartbeatMs: 150 });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  auth = { authorization: `Bearer ${(await createApiKey(db, "test")).key}` };
});
afterAll(async () => {
  await app.close();
  await db.destroy();
  await drop();
});

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Opens a stream (plain node:http, so closing it closes the socket at once) and parses its frames as they arrive. */
async function open(query = "", headers: Record<string, string> = {}) {
  const frames: Frame[] = [];
  let buffer = "";
  let done!: () => void;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  let request!: http.ClientRequest;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    request = http.get(`${base}/v1/events/stream${query}`, { headers: { ...auth, ...headers } }, resolve);
    request.on("error", reject);
  });
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    buffer += chunk;
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const f: Frame = {};
      for (const line of buffer.slice(0, cut).split("\n")) {
        if (line.startsWith(":")) f.comment = line.slice(1).trim();
        else {
          const i = line.indexOf(": ");
          (f as Record<string, string>)[line.slice(0, i)] = line.slice(i + 2);
        }
      }
      frames.push(f);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
    }
  });
  res.on("close", () => done());
  res.on("error", () => done());
  const events = () => frames.filter((f) => f.id !== undefined);
  return {
    res,
    frames,
    events,
    async until(pred: () => boolean, ms = 5000) {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(frames.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      request.destroy();
      await ended;
    },
  };
}

const put = (type: string, payload: unknown = {}) => inTransaction(db, (tx) => emit(tx, [{ type, payload }]));

describe("GET /v1/events/stream", () => {
  it("resumes exactly after Last-Event-ID while events are being written concurrently", async () => {
    await put("test.start");
    const first = await open("?types=test.n");
    expect(first.res.statusCode).toBe(200);
    expect(first.res.headers["content-type"]).toMatch(/^text\/event-stream/);
    let written = 0;
    const total = 300;
    const writer = (async () => {
      // several concurrent writers, so transactions commit out of id order
      const one = async () => {
        while (written < total) {
          const n = written++;
          await put("test.n", { n });
        }
      };
      await Promise.all([one(), one(), one(), one()]);
    })();
    await first.until(() => first.events().length >= 60);
    await first.close();
    const seen = first.events();
    const lastId = seen[seen.length - 1].id as string;
    const second = await open("?types=test.n", { "last-event-id": lastId });
    await writer;
    await second.until(() => seen.length + second.events().length >= total);
    await new Promise((r) => setTimeout(r, 200)); // anything extra would arrive by now
    await second.close();
    const ns = [...seen, ...second.events()].map((f) => JSON.parse(f.data as string).data.n as number);
    expect(ns.length).toBe(total);
    expect(new Set(ns).size).toBe(total); // no duplicate, and with the count: no gap
    const ids = [...seen, ...second.events()].map((f) => Number(f.id));
    expect(new Set(ids).size).toBe(total);
    const body = JSON.parse(second.events()[0].data as string);
    expect(Object.keys(body).sort()).toEqual(["created_at", "data", "id", "type"]);
    expect(second.events()[0].event).toBe("test.n");
    expect(String(body.id)).toBe(second.events()[0].id);
  });

  it("filters by exact type or prefix, and ?after= replays from a point", async () => {
    await put("filter.mark");
    const [{ id: mark }] = await db
      .selectFrom("outbox_events")
      .select("id")
      .where("type", "=", "filter.mark")
      .execute();
    await put("order.placed", { o: 1 });
    await put("stock.changed", { s: 1 });
    await put("purchase.received", { p: 1 });
    await put("orderx.weird", { x: 1 });
    const s = await open(`?after=${mark}&types=order.*,stock.changed`);
    await s.until(() => s.events().length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    await s.close();
    expect(s.events().map((f) => f.event)).toEqual(["order.placed", "stock.changed"]);
  });

  it("sends heartbeat comments", async () => {
    const s = await open("?types=nothing.*");
    await s.until(() => s.frames.filter((f) => f.comment === "heartbeat").length >= 2, 2000);
    await s.close();
  });

  it("frees its feed subscription and timer when the client goes away", async () => {
    await new Promise((r) => setTimeout(r, 100)); // earlier tests' streams are gone
    const before = app.feed.listenerCount;
    const s = await open();
    await s.until(() => app.feed.listenerCount === before + 1);
    await s.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(app.feed.listenerCount).toBe(before);
  });

  it("answers 404 problem for an unknown event id, 400 for a bad header, 401 without a key", async () => {
    const res = await fetch(`${base}/v1/events/stream?after=99999999`, { headers: auth });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
    expect((await res.json()).code).toBe("not_found");
    const bad = await fetch(`${base}/v1/events/stream`, { headers: { ...auth, "last-event-id": "x" } });
    expect(bad.status).toBe(400);
    const header404 = await fetch(`${base}/v1/events/stream`, {
      headers: { ...auth, "last-event-id": "99999999" },
    });
    expect(header404.status).toBe(404);
    expect((await fetch(`${base}/v1/events/stream`)).status).toBe(401);
  });
});
