import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { type OrderSettings, requiredAddressFields } from "./settings.js";

/**
 * The checks an order passes at placement, each configurable in the order
 * settings. A failed check does not refuse the order: it puts it on hold
 * with the reason, for a person to look at.
 */

export interface HoldCause {
  code: "address" | "payment" | "fraud" | "stock" | "manual";
  detail: string;
}

export interface CheckedOrder {
  total: number;
  currency: string;
  email: string;
  shipping: Record<string, string | undefined>;
  billing?: Record<string, string | undefined> | null;
  paymentSecured: boolean;
  /** Orders from the same email in the last hour, this one included. */
  ordersLastHour: number;
}

type Check = (o: CheckedOrder, s: OrderSettings) => HoldCause | null;

const addressComplete: Check = (o, s) => {
  const country = o.shipping.country ?? "";
  const missing = requiredAddressFields(s, country).filter((f) => !o.shipping[f]?.trim());
  return missing.length
    ? { code: "address", detail: `the shipping address (${country}) lacks ${missing.join(", ")}` }
    : null;
};

const paymentPresent: Check = (o, s) =>
  s.require_payment_for_approval && !o.paymentSecured
    ? { code: "payment", detail: "awaiting payment: approval requires an authorized or paid payment" }
    : null;

const orderValue: Check = (o, s) => {
  const max = s.fraud.max_order_value;
  return max !== null && o.total > max
    ? { code: "fraud", detail: `order value ${o.total} ${o.currency} is over the limit of ${max}` }
    : null;
};

const countryMismatch: Check = (o, s) => {
  const billing = o.billing?.country;
  return s.fraud.hold_on_country_mismatch && billing && billing !== o.shipping.country
    ? {
        code: "fraud",
        detail: `billing country ${billing} differs from shipping country ${o.shipping.country}`,
      }
    : null;
};

const emailVelocity: Check = (o, s) => {
  const max = s.fraud.max_orders_per_email_per_hour;
  return max !== null && o.ordersLastHour > max
    ? { code: "fraud", detail: `${o.ordersLastHour} orders from ${o.email} in the last hour (limit ${max})` }
    : null;
};

export const PLACEMENT_CHECKS: readonly Check[] = [
  addressComplete,
  paymentPresent,
  orderValue,
  countryMismatch,
  emailVelocity,
];

export function placementChecks(o: CheckedOrder, settings: OrderSettings): HoldCause[] {
  return PLACEMENT_CHECKS.map((c) => c(o, settings)).filter((c): c is HoldCause => c !== null);
}

/** Orders placed with this email in the hour before `at` (and up to now), case-insensitive. */
export async function ordersFromEmailLastHour(tx: Tx, email: string, at: Date): Promise<number> {
  const r = await sql<{ n: number }>`
    select count(*)::int as n from orders
    where lower(customer_email) = lower(${email}) and placed_at > ${at}::timestamptz - interval '1 hour'`.execute(
    tx,
  );
  return r.rows[0].n;
}
