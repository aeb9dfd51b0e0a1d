import { sql } from "kysely";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { api, location, ok, product, stock } from "../../test/shop.js";
import { ship } from "../finance/testing.js";
import { orderBody, place } from "../orders/testing.js";
import { sendCustomerEmails } from "./sender.js";
import { DEFAULT_NOTIFICATION_SETTINGS } from "./settings.js";

/** Customer e-mails, received by a local SMTP server (smtp-server) as the real messages. */

interface Received {
  to: string[];
  raw: string;
}
const inbox: Received[] = [];
let smtp: SMTPServer;
let port: number;
let t: TestContext;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, done) {
      let raw = "";
      stream.on("data", (c: Buffer) => {
        raw += c.toString("utf8");
      });
      stream.on("end", () => {
        inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
  port = (smtp.server.address() as { port: number }).port;
  t = await testApp();
  await location(t, "MAIN", 1, "DE");
  await product(t, ["MUG"]);
  await stock(t, "MUG", "MAIN", 50);
  await ok(
    t,
    "POST",
    "/v1/channels",
    { kind: "manual", name: "Marketplace", code: "market", config: {} },
    201,
  );
});
afterAll(async () => {
  await t.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const settings = (smtpUrl: string) => ({
  ...DEFAULT_NOTIFICATION_SETTINGS,
  enabled: true,
  smtp_url: smtpUrl,
  from: "Keel Shop <shop@example.com>",
  channels_off: ["market"],
});

async function until<T>(what: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The consumer starts at the present: wait for its cursor before emitting what it must see. */
const consumerReady = () =>
  until(async () => {
    const r = await sql`select 1 from outbox_cursors where consumer = 'customer-notifications'`.execute(t.db);
    return r.rows.length ? true : undefined;
  });

async function notificationsOf(id: number, n: number) {
  return until(async () => {
    const { data } = await ok(t, "GET", `/v1/orders/${id}/notifications`);
    return data.length >= n ? data : undefined;
  });
}

describe("customer e-mails", () => {
  it("mails the shipment with its tracking link and the refund; not a marketplace's customers", async () => {
    await ok(t, "PUT" as "POST", "/v1/settings/notifications", settings(`smtp://127.0.0.1:${port}`));
    expect((await ok(t, "GET", "/v1/settings/notifications")).smtp_url).toBe("***");
    await consumerReady();
    const o = await place(t, orderBody([{ sku: "MUG", quantity: 1, unit_price: 1200 }]));
    await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "paid", amount: 1200 });
    const market = await place(t, orderBody([{ sku: "MUG", quantity: 1 }], { channel: "market" }));
    await ship(t, market.id);
    await ship(t, o.id);
    await ok(t, "POST", `/v1/orders/${o.id}/payments`, { status: "refunded", amount: 500 });
    await notificationsOf(o.id, 2);
    await until(async () => ((await sendCustomerEmails(t.db)) >= 0 && inbox.length >= 2 ? true : undefined));
    const [shipped, refunded] = inbox;
    expect(shipped.to).toEqual([o.customer.email]);
    expect(shipped.raw).toContain(`Subject: Your order ${o.number} is on its way`);
    expect(shipped.raw.replace(/=\r?\n/g, "")).toContain("https://www.dhl.com/track?tracking-id=T");
    expect(refunded.raw).toContain(`Subject: Refund for your order ${o.number}`);
    expect(refunded.raw).toContain("5.00 EUR");
    const log = (await ok(t, "GET", `/v1/orders/${o.id}/notifications`)).data;
    expect(log.map((n: { kind: string; status: string }) => [n.kind, n.status])).toEqual([
      ["shipped", "sent"],
      ["refunded", "sent"],
    ]);
    expect((await ok(t, "GET", `/v1/orders/${market.id}/notifications`)).data).toEqual([]);
    expect(inbox.some((m) => m.to.includes(market.customer.email))).toBe(false);
  });

  it("retries a failed delivery, shows it in the integration monitor, and sends it after a retry", async () => {
    inbox.length = 0;
    // a port nothing listens on
    await ok(t, "PUT" as "POST", "/v1/settings/notifications", settings("smtp://127.0.0.1:1"));
    const o = await place(t, orderBody([{ sku: "MUG", quantity: 1 }]));
    await ship(t, o.id);
    const [n] = await notificationsOf(o.id, 1);
    expect(await sendCustomerEmails(t.db)).toBe(0);
    const failed = (await ok(t, "GET", `/v1/orders/${o.id}/notifications`)).data[0];
    expect(failed).toMatchObject({ id: n.id, status: "pending", attempts: 1 });
    expect(failed.last_error).toBeTruthy();
    const open = (await ok(t, "GET", "/v1/integrations/failures?status=open")).data.filter(
      (f: { source: string }) => f.source === "email",
    );
    expect(open).toHaveLength(1);
    // not due again before its backoff
    await ok(t, "PUT" as "POST", "/v1/settings/notifications", settings(`smtp://127.0.0.1:${port}`));
    expect(await sendCustomerEmails(t.db)).toBe(0);
    const retried = await api(t, "POST", `/v1/integrations/failures/${open[0].id}/retry`);
    expect(retried.statusCode, retried.body).toBeLessThan(300);
    expect(await sendCustomerEmails(t.db)).toBe(1);
    expect(inbox).toHaveLength(1);
    expect((await ok(t, "GET", `/v1/orders/${o.id}/notifications`)).data[0]).toMatchObject({
      status: "sent",
      attempts: 2,
    });
  });
});
