import { sql } from "kysely";
import { z } from "zod";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * How the shop runs its orders, stored in `settings` under the key `orders`.
 * Every field has a default, so a fresh shop works without configuring
 * anything; a PUT changes only the fields it names.
 */

const Country = z.string().regex(/^[A-Z]{2}$/, "an ISO 3166 alpha-2 country code");
export const ADDRESS_FIELDS = [
  "name",
  "company",
  "line1",
  "line2",
  "city",
  "postal_code",
  "province",
  "phone",
] as const;

export const OrderSettings = z.strictObject({
  auto_approve: z.boolean().describe("approve orders that pass every check at placement"),
  require_payment_for_approval: z
    .boolean()
    .describe("an order needs an authorised or paid payment covering its total before approval"),
  allocate_at: z
    .enum(["approval", "payment"])
    .describe("when an order's reserved units become allocated (committed)"),
  complete_on_delivery: z.boolean().describe("complete an order when all its fulfilments are delivered"),
  default_sla_hours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .describe("hours from placement to shipment, for channels without their own sla_hours"),
  transfer_transit_days: z
    .number()
    .int()
    .min(0)
    .max(365)
    .describe("days an open transfer is expected to take, for backorder expected dates"),
  fraud: z.strictObject({
    max_order_value: z
      .number()
      .int()
      .min(0)
      .nullable()
      .describe("hold orders whose total (minor units of the order currency) is above this"),
    hold_on_country_mismatch: z.boolean().describe("hold when billing and shipping countries differ"),
    max_orders_per_email_per_hour: z
      .number()
      .int()
      .min(1)
      .nullable()
      .describe("hold an order when its email placed more orders than this in the last hour"),
  }),
  address_rules: z
    .record(z.union([Country, z.literal("*")]), z.array(z.enum(ADDRESS_FIELDS)).max(ADDRESS_FIELDS.length))
    .describe('required shipping address fields per country; "*" applies to countries not listed'),
});
export type OrderSettings = z.infer<typeof OrderSettings>;

export const DEFAULT_ORDER_SETTINGS: OrderSettings = {
  auto_approve: true,
  require_payment_for_approval: false,
  allocate_at: "approval",
  complete_on_delivery: true,
  default_sla_hours: 48,
  transfer_transit_days: 3,
  fraud: { max_order_value: null, hold_on_country_mismatch: false, max_orders_per_email_per_hour: null },
  address_rules: { "*": ["line1", "city", "postal_code"] },
};

/** A PUT body: any subset of the settings; `fraud` may be given in part too. */
export const OrderSettingsPatch = OrderSettings.extend({
  fraud: OrderSettings.shape.fraud.partial(),
}).partial();
export type OrderSettingsPatch = z.infer<typeof OrderSettingsPatch>;

const KEY = "orders";

export async function readOrderSettings(db: DB | Tx): Promise<OrderSettings> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", KEY).executeTakeFirst();
  return settingsFrom((row?.value ?? null) as OrderSettingsPatch | null);
}

/** The settings from the stored value (null when never stored), with defaults filled in. */
export function settingsFrom(stored: OrderSettingsPatch | null): OrderSettings {
  return merge(DEFAULT_ORDER_SETTINGS, stored ?? {});
}

function merge(base: OrderSettings, patch: OrderSettingsPatch): OrderSettings {
  return {
    ...base,
    ...patch,
    fraud: { ...base.fraud, ...(patch.fraud ?? {}) },
    address_rules: patch.address_rules ?? base.address_rules,
  };
}

/** Applies the fields given; the row is locked while it is read and written, so concurrent PUTs both land. */
export async function updateOrderSettings(tx: Tx, patch: OrderSettingsPatch): Promise<OrderSettings> {
  await sql`insert into settings (key, value) values (${KEY}, '{}') on conflict do nothing`.execute(tx);
  await sql`select 1 from settings where key = ${KEY} for update`.execute(tx);
  const next = merge(await readOrderSettings(tx), patch);
  await tx
    .updateTable("settings")
    .set({ value: JSON.stringify(next), updated_at: new Date() })
    .where("key", "=", KEY)
    .execute();
  return next;
}

/** Required address fields for a country. */
export function requiredAddressFields(settings: OrderSettings, country: string): string[] {
  return settings.address_rules[country] ?? settings.address_rules["*"] ?? [];
}
