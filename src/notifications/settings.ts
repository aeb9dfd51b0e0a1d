import { z } from "zod";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * Customer e-mail settings, under the `notifications` key of the settings
 * table: the SMTP server, the sender, a switch per channel (marketplaces
 * mail their own customers), a tracking link per carrier and a Handlebars
 * template per event.
 */

const Template = z.strictObject({ subject: z.string().min(1).max(300), text: z.string().min(1).max(20_000) });

/**
 * The backorder e-mail: sent when an order starts waiting for stock and again
 * when the expected date moves (`date_moved`, with `previous_date` when one was
 * known). `expected_date`
 * is when the last waiting unit is expected (null: nothing on order yet);
 * `lines` are the waiting SKUs, each with its own `expected_date`.
 */
const DEFAULT_BACKORDERED = {
  subject:
    "{{#if date_moved}}New expected date for your order {{order_number}}{{else}}Part of your order {{order_number}} is on backorder{{/if}}",
  text: "Hello {{customer_name}},\n\n{{#if date_moved}}the expected date for the backordered items of your order {{order_number}} has changed{{#if previous_date}} from {{previous_date}}{{/if}}: {{#if expected_date}}we now expect them by {{expected_date}}{{else}}we do not know yet when they arrive{{/if}}.{{else}}some items of your order {{order_number}} are not in stock right now.{{#if expected_date}} We expect them by {{expected_date}}.{{else}} We will write again as soon as we know when they arrive.{{/if}}{{/if}}\n{{#each lines}}\n- {{quantity}} x {{sku}}{{#if expected_date}} (expected {{expected_date}}){{/if}}{{/each}}\n\nWe ship them as soon as they arrive.",
};

export const NotificationSettings = z.strictObject({
  enabled: z.boolean(),
  smtp_url: z
    .string()
    .regex(/^(smtps?:\/\/.+|\*\*\*)$/, "smtp://user:pass@host:port or smtps://…")
    .max(500)
    .nullable()
    .describe("write-only: replies show ***"),
  from: z.string().min(3).max(320),
  /** channel codes whose customers Keel does not mail */
  channels_off: z.array(z.string().max(64)).max(200),
  /** carrier → link with {tracking_number} */
  // a URL template, not a URI: `{tracking_number}` is not valid in one (RFC 3986), so no `format: uri`
  tracking_urls: z.record(
    z.string().max(64),
    z
      .string()
      .max(500)
      .regex(/^https?:\/\/[^\s/]+\S*$/, "an http(s) URL; {tracking_number} marks where the number goes")
      .describe("an http(s) URL template: {tracking_number} is replaced by the shipment's number"),
  ),
  templates: z.strictObject({
    shipped: Template,
    refunded: Template,
    backordered: Template.default(DEFAULT_BACKORDERED).describe(
      "sent when an order waits for stock and again when its expected date moves: expected_date, date_moved, previous_date, lines [{sku, quantity, expected_date}]",
    ),
  }),
});
export type NotificationSettings = z.infer<typeof NotificationSettings>;

export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = {
  enabled: false,
  smtp_url: null,
  from: "shop@example.com",
  channels_off: [],
  tracking_urls: {
    DHL: "https://www.dhl.com/track?tracking-id={tracking_number}",
    UPS: "https://www.ups.com/track?tracknum={tracking_number}",
  },
  templates: {
    shipped: {
      subject: "Your order {{order_number}} is on its way",
      text: "Hello {{customer_name}},\n\nyour order {{order_number}} has shipped with {{carrier}}.\nTracking number: {{tracking_number}}{{#if tracking_url}}\nTrack it: {{tracking_url}}{{/if}}\n\nThank you for your order.",
    },
    refunded: {
      subject: "Refund for your order {{order_number}}",
      text: "Hello {{customer_name}},\n\nwe have refunded {{amount}} {{currency}} for your order {{order_number}} (credit note {{credit_note}}).",
    },
    backordered: DEFAULT_BACKORDERED,
  },
};

export async function readNotificationSettings(db: DB | Tx): Promise<NotificationSettings> {
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", "notifications")
    .executeTakeFirst();
  const v = (row?.value as Partial<NotificationSettings>) ?? {};
  return {
    ...DEFAULT_NOTIFICATION_SETTINGS,
    ...v,
    templates: { ...DEFAULT_NOTIFICATION_SETTINGS.templates, ...(v.templates ?? {}) },
  };
}

/** Replaces the settings; an smtp_url of "***" keeps the stored one (replies hide it). */
export async function writeNotificationSettings(tx: Tx, value: NotificationSettings) {
  const cur = await readNotificationSettings(tx);
  const stored = { ...value, smtp_url: value.smtp_url === "***" ? cur.smtp_url : value.smtp_url };
  await tx
    .insertInto("settings")
    .values({ key: "notifications", value: JSON.stringify(stored) })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({ value: JSON.stringify(stored), updated_at: new Date() }),
    )
    .execute();
  return shown(stored);
}

export const shown = (s: NotificationSettings): NotificationSettings => ({
  ...s,
  smtp_url: s.smtp_url ? "***" : null,
});
