import { createServer, type IncomingMessage, type Server } from "node:http";
import { sql } from "kysely";
import type { DB } from "../../src/db/pool.js";
import { load } from "../lib.js";

/**
 * Scenarios 8–10 (issue 10): outbound webhooks and the stock feed, measured
 * against a receiver in this process on loopback, Keel in its own process as
 * in the other scenarios.
 */

interface Receiver {
  url: string;
  arrivals: Map<string, number>;
  lags: number[];
  close(): Promise<void>;
}

async function receiver(opts: { lag?: boolean } = {}): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  const lags: number[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      arrivals.set(req.url ?? "", (arrivals.get(req.url ?? "") ?? 0) + 1);
      if (opts.lag) {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { created_at: string };
        lags.push(Date.now() - Date.parse(body.created_at));
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    lags,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function subscribe(base: string, auth: Record<string, string>, url: string, events: string[]) {
  const res = await fetch(`${base}/v1/webhook-subscriptions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ url, events }),
  });
  if (res.status !== 201) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

async function unsubscribe(base: string, auth: Record<string, string>, id: number) {
  await fetch(`${base}/v1/webhook-subscriptions/${id}`, { method: "DELETE", headers: auth });
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : Number.NaN;
};

/** 8. Deliveries per second: `events` events committed in bulk, fanned out to `subscriptions` receivers. */
export async function webhookThroughput(o: {
  db: DB;
  base: string;
  auth: Record<string, string>;
  events: number;
  subscriptions: number;
}) {
  const r = await receiver();
  const ids: number[] = [];
  for (let i = 0; i < o.subscriptions; i++) {
    ids.push(await subscribe(o.base, o.auth, `${r.url}/s${i}`, ["bench.*"]));
  }
  await new Promise((res) => setTimeout(res, 500)); // the webhook consumer has ticked since
  const started = performance.now();
  for (let i = 0; i < o.events; i += 1000) {
    const n = Math.min(1000, o.events - i);
    await sql`insert into outbox_events (type, payload)
              select 'bench.hook', jsonb_build_object('n', g) from generate_series(1, ${n}::int) g`.execute(
      o.db,
    );
  }
  const want = o.events * o.subscriptions;
  const total = () => [...r.arrivals.values()].reduce((a, b) => a + b, 0);
  const progress = setInterval(
    () => process.stderr.write(`  webhooks: ${total()}/${want} delivered\n`),
    5000,
  );
  const done = await until(() => total() >= want, 600_000).finally(() => clearInterval(progress));
  const seconds = (performance.now() - started) / 1000;
  for (const id of ids) await unsubscribe(o.base, o.auth, id);
  await r.close();
  return { delivered: total(), complete: done, seconds, perSecond: total() / seconds };
}

/**
 * 9. Lag from an order's commit to its webhook at the receiver, while orders
 * are placed at `rate` per second (each `order.placed` event's created_at
 * against the receiver's clock: same machine, same clock).
 */
export async function webhookLag(o: {
  base: string;
  auth: Record<string, string>;
  rate: number;
  seconds: number;
  orderBody: () => unknown;
}) {
  const r = await receiver({ lag: true });
  const id = await subscribe(o.base, o.auth, `${r.url}/orders`, ["order.placed"]);
  await new Promise((res) => setTimeout(res, 500));
  const placed = await load({
    url: `${o.base}/v1/orders`,
    method: "POST",
    connections: 32,
    duration: o.seconds,
    rate: o.rate,
    headers: o.auth,
    body: () => JSON.stringify(o.orderBody()),
  });
  const created = placed.statuses["201"] ?? 0;
  await until(() => r.lags.length >= created, 120_000);
  await unsubscribe(o.base, o.auth, id);
  await r.close();
  return {
    ordersPerSecond: placed.rps,
    delivered: r.lags.length,
    created,
    p50: pct(r.lags, 50),
    p99: pct(r.lags, 99),
    max: pct(r.lags, 100),
  };
}

/** 10. The stock feed: every SKU × location reported once, in batches of `batch`, from `clients` clients. */
export async function stockFeedThroughput(o: {
  base: string;
  auth: Record<string, string>;
  skus: string[];
  locations: string[];
  batch: number;
  clients: number;
  round: number;
}) {
  const levels = o.skus.flatMap((sku) =>
    o.locations.map((location) => ({ sku, location, on_hand: 50_000 + Math.floor(Math.random() * 1000) })),
  );
  const batches: (typeof levels)[] = [];
  for (let i = 0; i < levels.length; i += o.batch) batches.push(levels.slice(i, i + o.batch));
  const asOf = new Date(Date.UTC(2030, 0, 1, 0, o.round)).toISOString();
  let next = 0;
  let applied = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (next < batches.length) {
        const b = batches[next++];
        const t = performance.now();
        const res = await fetch(`${o.base}/v1/integrations/stock`, {
          method: "POST",
          headers: { ...o.auth, "content-type": "application/json" },
          body: JSON.stringify({ source: "bench", as_of: asOf, levels: b }),
        });
        if (res.status !== 200) throw new Error(`stock feed: ${res.status} ${await res.text()}`);
        applied += ((await res.json()) as { applied: number }).applied;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    levels: levels.length,
    applied,
    seconds,
    perSecond: levels.length / seconds,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
  };
}
