import { sql } from "kysely";
import type { ReservationStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";
import type { LocationRef, StockItem } from "../inventory/refs.js";
import type { Channel } from "./channels.js";
import type { PlaceOrderBody } from "./schema.js";
import { type OrderSettings, type OrderSettingsPatch, settingsFrom } from "./settings.js";

/**
 * Everything placement reads before it writes, in one round trip: the order
 * settings, the channel, the lines' variants with their bundle components,
 * every location and the checkout reservation's status. Then the checks that
 * refuse a request (422) before anything is written.
 */

export interface PlacementContext {
  /** The settings placement follows (the caller's, when given). */
  settings: OrderSettings;
  /** The stored settings, which the order view's allowed actions follow. */
  stored: OrderSettings;
  channel: Pick<Channel, "id" | "code" | "config">;
  items: Map<string, StockItem>;
  /** Every location, in the order Keel prefers to take stock from them. */
  locations: LocationRef[];
  /** The checkout reservation's status (null: none asked for, or none found). */
  reservation: ReservationStatus | null;
}

interface Row {
  settings: OrderSettingsPatch | null;
  channel: PlacementContext["channel"] | null;
  items: StockItem[];
  locations: LocationRef[];
  reservation: ReservationStatus | null;
}

export async function readPlacementContext(
  tx: Tx,
  input: PlaceOrderBody,
  settings?: OrderSettings,
): Promise<PlacementContext> {
  const code = input.channel ?? "manual";
  const skus = [...new Set(input.lines.map((l) => l.sku))];
  // The SKUs and the reservation id are sub-selects so that the planner costs every execution like
  // the generic plan: PostgreSQL then keeps the generic plan instead of planning each placement anew.
  const found = await sql<Row>`
    select (select value from settings where key = 'orders') as settings,
      (select json_build_object('id', id, 'code', code, 'config', config) from channels where code = ${code}) as channel,
      coalesce((select json_agg(json_build_object('id', v.id, 'sku', v.sku, 'kind', v.kind, 'status', p.status,
          'inventory_policy', v.inventory_policy, 'low_stock_threshold', v.low_stock_threshold,
          'components', case when v.kind = 'bundle' then coalesce(
            (select json_agg(json_build_object('variantId', c.id, 'sku', c.sku, 'quantity', bc.quantity) order by c.id)
             from bundle_components bc join variants c on c.id = bc.component_variant_id
             where bc.product_id = v.product_id), '[]') else '[]' end))
        from variants v join products p on p.id = v.product_id where v.sku = any((select ${skus}::text[])::text[])), '[]') as items,
      coalesce((select json_agg(json_build_object('id', id, 'code', code, 'name', name, 'kind', kind,
          'priority', priority, 'country', country, 'active', active) order by priority, id)
        from locations), '[]') as locations,
      (select status from reservations where id = (select ${input.reservation_id ?? null}::bigint)) as reservation`.execute(
    tx,
  );
  const row = found.rows[0];
  if (!row.channel) {
    throw new ValidationFailed([
      {
        path: "body.channel",
        message: `unknown channel ${JSON.stringify(code)}; create it with POST /v1/channels`,
      },
    ]);
  }
  const items = new Map(row.items.map((i) => [i.sku, i]));
  const unknown = input.lines.flatMap((l, i) =>
    items.has(l.sku)
      ? []
      : [{ path: `body.lines.${i}.sku`, message: `unknown SKU ${JSON.stringify(l.sku)}` }],
  );
  if (unknown.length) throw new ValidationFailed(unknown);
  const offSale = input.lines.flatMap((l, i) => {
    const status = items.get(l.sku)!.status;
    return status === "active"
      ? []
      : [{ path: `body.lines.${i}.sku`, message: `${l.sku} is not on sale (product ${status})` }];
  });
  if (offSale.length) throw new ValidationFailed(offSale);
  const stored = settingsFrom(row.settings);
  return {
    settings: settings ?? stored,
    stored,
    channel: { ...row.channel, config: row.channel.config ?? {} },
    items,
    locations: row.locations,
    reservation: row.reservation,
  };
}

/** A checkout reservation must still be active to become the order's hold. */
export function checkReservation(id: number, status: ReservationStatus | null): void {
  if (status !== "active") {
    throw new ValidationFailed([
      {
        path: "body.reservation_id",
        message: status ? `reservation ${id} is ${status}` : `no reservation ${id}`,
      },
    ]);
  }
}
