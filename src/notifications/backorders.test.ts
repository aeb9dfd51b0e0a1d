import { sql } from "kysely";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestContext, testApp } from "../../test/helpers.js";
import { location, ok, product } from "../../test/shop.js";
import { orderBody, place } from "../orders/testing.js";
import { sendCustomerEmails } from "./sender.js";
import { DEFAULT_NOTIFICATION_SETTINGS } from "./settings.js";

/**
 * Backorder e-mails, received by a local SMTP server: the expected date from
 * open purchase orders, a new message when that date moves, none when it does
 * not, none for a channel switched off.
 */

const inbox: { to: string[]; raw: string }[] = [];
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
  await product(t, ["WIDGET"], { policy: "backorder" });
  await product(t, ["SPROCKET"], { policy: "backorder" });
  await ok(t, "POST", "/v1/suppliers", { code: "ACME", name: "Acme", lead_time_days: 10 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "WIDGET", cost: 500 }, 201);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "SPROCKET", cost: 500 }, 201);
  await product(t, ["DROPPED"]);
  await ok(t, "POST", "/v1/suppliers/ACME/items", { sku: "DROPPED", cost: 500, dropship: true }, 201);
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

async function until<T>(what: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const log = async (id: number) => (await ok(t, "GET", `/v1/orders/${id}/notifications`)).data;
const logOf = (id: number, n: number) =>
  until(async () => {
    const data = await log(id);
    return data.length >= n ? data : undefined;
  });

async function purchase(sku: string, expected: string) {
  const po = await ok(
    t,
    "POST",
    "/v1/purchase-orders",
    { supplier: "ACME", location: "MAIN", lines: [{ sku, quantity: 10 }], expected_date: expected },
    201,
  );
  await ok(t, "POST", `/v1/purchase-orders/${po.id}/submit`);
  return po.id as number;
}

/** Waits until the consumer has passed every event written so far. */
const consumed = () =>
  until(async () => {
    const r = await sql<{ done: boolean }>`
      select c.last_event_id >= (select max(id) from outbox_events) as done from outbox_cursors c
      where c.consumer = 'customer-notifications'`.execute(t.db);
    return r.rows[0]?.done ? true : undefined;
  });

describe("backorder e-mails", () => {
  it("tells the expected date, tells it again when it moves, not when it stays", async () => {
    await ok(t, "PUT" as "POST", "/v1/settings/notifications", {
      ...DEFAULT_NOTIFICATION_SETTINGS,
      enabled: true,
      smtp_url: `smtp://127.0.0.1:${port}`,
      channels_off: ["market"],
    });
    await until(async () => {
      const r = await sql`select 1 from outbox_cursors where consumer = 'customer-notifications'`.execute(
        t.db,
      );
      return r.rows.length ? true : undefined;
    });
    await purchase("WIDGET", "2027-02-20");
    const o = await place(t, orderBody([{ sku: "WIDGET", quantity: 2 }]), 201);
    expect((await ok(t, "GET", `/v1/orders/${o.id}`)).status).toBe("backordered");
    const market = await place(t, orderBody([{ sku: "WIDGET", quantity: 1 }], { channel: "market" }), 201);
    const [first] = await logOf(o.id, 1);
    expect(first).toMatchObject({
      kind: "backordered",
      expected_date: "2027-02-20",
      to_address: o.customer.email,
    });
    expect(first.subject).toBe(`Part of your order ${o.number} is on backorder`);

    // an earlier purchase order moves the date
    const early = await purchase("WIDGET", "2027-02-10");
    const [, moved] = await logOf(o.id, 2);
    expect(moved).toMatchObject({ kind: "backordered", expected_date: "2027-02-10" });
    expect(moved.subject).toBe(`New expected date for your order ${o.number}`);

    // a later one, and one for another SKU, move nothing
    await purchase("WIDGET", "2027-03-01");
    await purchase("SPROCKET", "2027-01-05");
    await consumed();
    expect(await log(o.id)).toHaveLength(2);

    // the early one is cancelled: back to the first date
    await ok(t, "POST", `/v1/purchase-orders/${early}/cancel`, { reason: "supplier out" });
    const [, , back] = await logOf(o.id, 3);
    expect(back).toMatchObject({ expected_date: "2027-02-20" });
    await consumed();
    expect(await log(market.id)).toEqual([]);

    await until(async () => ((await sendCustomerEmails(t.db)) >= 0 && inbox.length >= 3 ? true : undefined));
    const mine = inbox.filter((m) => m.to.includes(o.customer.email));
    expect(mine).toHaveLength(3);
    const text = (raw: string) => raw.replace(/=\r?\n/g, "");
    expect(text(mine[0].raw)).toContain("We expect them by 2027-02-20");
    expect(text(mine[0].raw)).toContain("2 x WIDGET (expected 2027-02-20)");
    expect(text(mine[1].raw)).toContain("has changed from 2027-02-20: we now expect them by 2027-02-10");
    expect(text(mine[2].raw)).toContain("from 2027-02-10: we now expect them by 2027-02-20");
    expect(inbox.some((m) => m.to.includes(market.customer.email))).toBe(false);
  });

  it("mails a supplier's drop-ship shipment like any shipment, with its tracking link", async () => {
    inbox.length = 0;
    const o = await place(t, orderBody([{ sku: "DROPPED", quantity: 1 }]), 201);
    const r = await sql<{ id: number }>`
      select distinct purchase_order_id as id from dropship_lines where order_id = ${o.id}`.execute(t.db);
    await ok(t, "POST", `/v1/purchase-orders/${r.rows[0].id}/ship`, {
      carrier: "DHL",
      tracking_number: "DS42",
    });
    const [n] = await logOf(o.id, 1);
    expect(n).toMatchObject({ kind: "shipped", subject: `Your order ${o.number} is on its way` });
    await until(async () => ((await sendCustomerEmails(t.db)) >= 0 && inbox.length >= 1 ? true : undefined));
    expect(inbox[0].to).toEqual([o.customer.email]);
    expect(inbox[0].raw.replace(/=\r?\n/g, "")).toContain("https://www.dhl.com/track?tracking-id=DS42");
  });

  it("dates a backordered bundle by the last of its components", async () => {
    await product(t, ["KIT"], {
      kind: "bundle",
      policy: "backorder",
      components: [
        { sku: "WIDGET", quantity: 1 },
        { sku: "SPROCKET", quantity: 2 },
      ],
    });
    const o = await place(t, orderBody([{ sku: "KIT", quantity: 1 }]), 201);
    const [n] = await logOf(o.id, 1);
    // WIDGET is next expected 2027-02-20, SPROCKET 2027-01-05: the kit when both are there
    expect(n).toMatchObject({ kind: "backordered", expected_date: "2027-02-20" });
    // a component's earlier purchase order moves the kit's date
    await purchase("WIDGET", "2027-01-25");
    const [, moved] = await logOf(o.id, 2);
    expect(moved).toMatchObject({ kind: "backordered", expected_date: "2027-01-25" });
  });
});
