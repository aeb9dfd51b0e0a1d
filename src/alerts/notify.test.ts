import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "kysely";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { verify } from "../integrations/webhooks/signature.js";
import { evaluateAlerts } from "./evaluate.js";
import { sendNotifications } from "./notify.js";

/**
 * Targets against local servers: one HTTP server standing in for a webhook
 * receiver and a Slack incoming webhook (Slack answers 200 "ok" to a JSON
 * body with `text`, 400 "invalid_payload" otherwise), and an SMTP server
 * (smtp-server) that keeps every message it accepts.
 */
interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}
let t: TestContext;
let http: Server;
let smtp: SMTPServer;
let base = "";
let smtpPort = 0;
const posts: Received[] = [];
const mails: { to: string[]; raw: string }[] = [];
let failNext = 0;

beforeAll(async () => {
  t = await testApp();
  http = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(503).end("busy");
        return;
      }
      posts.push({ path: req.url ?? "", headers: req.headers, body });
      if (req.url?.startsWith("/slack")) {
        const ok = (() => {
          try {
            return typeof JSON.parse(body).text === "string";
          } catch {
            return false;
          }
        })();
        res.writeHead(ok ? 200 : 400, { "content-type": "text/plain" }).end(ok ? "ok" : "invalid_payload");
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, cb) {
      let raw = "";
      stream.on("data", (c) => {
        raw += c;
      });
      stream.on("end", () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", r));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  await sql`insert into settings (key, value) values ('notifications', ${JSON.stringify({
    smtp_url: `smtp://127.0.0.1:${smtpPort}`,
    from: "keel@shop.example",
  })}::jsonb)`.execute(t.db);

  await location(t, "MAIN", 1);
  for (const sku of ["S1", "S2", "S3"]) {
    await product(t, [sku], { threshold: 5 });
    await stock(t, sku, "MAIN", 10);
  }
});
afterAll(async () => {
  await t.close();
  await new Promise((r) => http.close(r));
  await new Promise((r) => smtp.close(() => r(undefined)));
});

/** Waits until the dispatcher has created the notifier's cursor: it starts at the newest event then. */
async function notifierRunning() {
  const until = Date.now() + 20_000;
  for (;;) {
    const r = await sql`select 1 from outbox_cursors where consumer = 'alert-notifications'`.execute(t.db);
    if (r.rows.length > 0) return;
    if (Date.now() > until) throw new Error("the alert notifier did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends rounds until `done` holds (the dispatcher writes notification rows a moment after the alerts commit). */
async function sendUntil(done: () => boolean, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await sendNotifications(t.db, { timeoutMs: 2_000 });
    if (done()) return;
    if (Date.now() > until) throw new Error("notifications did not arrive");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function idle() {
  // every opened alert's rows written, then nothing due
  const until = Date.now() + 20_000;
  for (;;) {
    const pending = await sql<{ n: number }>`
      select count(*)::int as n from outbox_events e where e.type = 'alert.opened'
        and e.id > (select last_event_id from outbox_cursors where consumer = 'alert-notifications')`.execute(
      t.db,
    );
    if (pending.rows[0].n === 0) break;
    if (Date.now() > until) throw new Error("the notifier did not catch up");
    await new Promise((r) => setTimeout(r, 50));
  }
  await sendNotifications(t.db, { timeoutMs: 2_000 });
}

describe("notification targets", () => {
  it("webhook, Slack and e-mail targets each get exactly one message per alert", async () => {
    await notifierRunning();
    const hook = await ok(
      t,
      "POST",
      "/v1/notification-targets",
      { kind: "webhook", target: `${base}/hook`, alert_kinds: ["low_stock"] },
      201,
    );
    expect(hook.secret).toMatch(/^[0-9a-f]{64}$/);
    await ok(
      t,
      "POST",
      "/v1/notification-targets",
      { kind: "slack", target: `${base}/slack/T000/B000` },
      201,
    );
    await ok(t, "POST", "/v1/notification-targets", { kind: "email", target: "ops@shop.example" }, 201);
    const listed = await ok(t, "GET", "/v1/notification-targets");
    expect(listed.data).toHaveLength(3);
    expect(listed.data[0].secret).toBeUndefined();

    await stock(t, "S1", "MAIN", 2);
    await evaluateAlerts(t.db);
    failNext = 1; // the first HTTP call fails once and is retried
    await sql`update notifications set next_at = now()`.execute(t.db);
    await sendUntil(() => posts.length >= 1 && mails.length >= 1);
    // the failed one is due again after its back-off: bring it forward
    await sql`update notifications set next_at = now() where status = 'pending'`.execute(t.db);
    await sendUntil(() => posts.length >= 2);
    // the same condition seen again, and more rounds: nothing more is sent
    await evaluateAlerts(t.db);
    await idle();
    await sql`update notifications set next_at = now() where status = 'pending'`.execute(t.db);
    await idle();

    const hooks = posts.filter((p) => p.path === "/hook");
    const slacks = posts.filter((p) => p.path.startsWith("/slack"));
    expect(hooks).toHaveLength(1);
    expect(slacks).toHaveLength(1);
    expect(mails).toHaveLength(1);
    expect(verify(hook.secret, String(hooks[0].headers["keel-signature"]), hooks[0].body)).toBe(true);
    const payload = JSON.parse(hooks[0].body);
    expect(payload).toMatchObject({
      type: "alert.opened",
      alerts: [{ kind: "low_stock", key: "S1@MAIN", evidence: { sku: "S1", available: 2, threshold: 5 } }],
    });
    expect(JSON.parse(slacks[0].body).text).toContain("S1 at MAIN: 2 available (threshold 5)");
    expect(mails[0].to).toEqual(["ops@shop.example"]);
    expect(mails[0].raw).toContain("Subject: Keel alert: [low_stock] S1 at MAIN");
    const states = await sql<{ status: string; n: number }>`
      select status, count(*)::int as n from notifications group by status`.execute(t.db);
    expect(states.rows).toEqual([{ status: "sent", n: 3 }]);
    // the webhook target's failure was recorded and resolved by the retry
    const failures = await sql<{ status: string }>`
      select status from integration_failures where source = 'notifications'`.execute(t.db);
    expect(failures.rows).toEqual([{ status: "resolved" }]);
  });

  it("a digest target gets one message for every alert opened in its window", async () => {
    posts.length = 0;
    mails.length = 0;
    await sql`update notification_targets set active = false`.execute(t.db);
    await ok(
      t,
      "POST",
      "/v1/notification-targets",
      { kind: "webhook", target: `${base}/digest`, alert_kinds: ["low_stock"], digest_minutes: 60 },
      201,
    );
    await stock(t, "S2", "MAIN", 1);
    await stock(t, "S3", "MAIN", 3);
    await evaluateAlerts(t.db);
    await idle();
    expect(posts).toEqual([]); // the window is still open
    const queued = await sql<{
      n: number;
    }>`select count(*)::int as n from notifications where status = 'queued'`.execute(t.db);
    expect(queued.rows[0].n).toBe(2);
    // the window ends
    await sql`update notifications set created_at = created_at - interval '61 minutes' where status = 'queued'`.execute(
      t.db,
    );
    await sendUntil(() => posts.length >= 1);
    await idle();
    expect(posts).toHaveLength(1);
    const digest = JSON.parse(posts[0].body);
    expect(digest.type).toBe("alerts.digest");
    expect(digest.alerts.map((a: { key: string }) => a.key).sort()).toEqual(["S2@MAIN", "S3@MAIN"]);
  });

  it("refuses a target that is not a URL or an address", async () => {
    expect(
      (await api(t, "POST", "/v1/notification-targets", { kind: "email", target: "nobody" })).statusCode,
    ).toBe(422);
    expect(
      (await api(t, "POST", "/v1/notification-targets", { kind: "slack", target: "ftp://x" })).statusCode,
    ).toBe(422);
    expect(
      (await api(t, "POST", "/v1/notification-targets", { kind: "pager", target: "x@y.z" })).statusCode,
    ).toBe(400);
  });
});
