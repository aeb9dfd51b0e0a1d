import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/** Defaults a shop may change in the `settings` table under the key `replenishment`. */
export interface ReplenishmentSettings {
  /** Probability of no stock-out over the lead time. */
  service_level: number;
  /** Lead time for SKUs no supplier sells. */
  default_lead_time_days: number;
  /** Days of sales history a forecast looks at; the background job keeps forecasts for this window. */
  history_days: number;
  /**
   * At most this many forecasts made while answering one suggestions request,
   * for SKUs whose stored forecast is missing or out of date; the others are
   * listed as pending until the background job has made theirs.
   */
  live_forecast_limit: number;
}

export const DEFAULT_HISTORY_DAYS = 91;

export async function replenishmentSettings(db: DB | Tx): Promise<ReplenishmentSettings> {
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", "replenishment")
    .executeTakeFirst();
  const value = (row?.value ?? {}) as Partial<ReplenishmentSettings>;
  return {
    service_level: value.service_level ?? 0.95,
    default_lead_time_days: value.default_lead_time_days ?? 14,
    history_days: value.history_days ?? DEFAULT_HISTORY_DAYS,
    live_forecast_limit: value.live_forecast_limit ?? 25,
  };
}
