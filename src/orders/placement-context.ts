import { sql } from "kysely";
import type { ReservationStatus } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import type { TaxSettings } from "../finance/tax.js";
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
  /** The shop's tax settings and the lines' tax classes, for the tax Keel adds to net prices. */
  tax: { settings: TaxSettings | null; classes: Record<string, string> };
  /** The order's SKUs a supplier drop-ships (its preferred drop-ship item among active suppliers). */
  dropship: Map<string, DropshipSource>;
}

export interface DropshipSource {
  supplierId: number;
  supplier: string;
}

interface Row {
  settings: OrderSettingsPatch | null;
  channels: PlacementContext["channel"][];
  items: StockItem[];
  locations: LocationRef[];
  reservations: [number, ReservationStatus][];
  tax: TaxSettings | null;
  tax_classes: Record<string, string>;
  dropship: Record<string, DropshipSource>;
  /** Per input, its customer's orders placed in the hour before it; null unless the stored fraud rule asks. */
  recent: number[] | null;
}

/** A placement's context, or why its request is refused before anything is written. */
export type ContextOrRefusal =
  | { ctx: PlacementContext; recent: number | null }
  | { refused: ValidationFailed };

/**
 * The contexts of several placements in one round trip (a batch reads once
 * for all its orders). `recent` is the count the fraud rule needs (orders
 * from the same email in the hour before `placedAt`), read only when the
 * stored settings have that rule.
 */
export async function readPlacementContexts(
  tx: Tx,
  inputs: { input: PlaceOrderBody; placedAt: Date }[],
  settings?: OrderSettings,
): Promise<ContextOrRefusal[]> {
  const codes = [...new Set(inputs.map((x) => x.input.channel ?? "manual"))];
  const skus = [...new Set(inputs.flatMap((x) => x.input.lines.map((l) => l.sku)))];
  const reservationIds = inputs.flatMap((x) =>
    x.input.reservation_id === undefined ? [] : [x.input.reservation_id],
  );
  // Arrays are sub-selects so that the planner costs every execution like the generic plan:
  // PostgreSQL then keeps the generic plan instead of planning each placement anew.
  const found = await sql<Row>`
    select (select value from settings where key = 'orders') as settings,
      (select value from settings where key = 'tax') as tax,
      coalesce((select json_object_agg(v.sku, v.tax_class) from variants v
        where v.sku = any((select ${skus}::text[])::text[])), '{}') as tax_classes,
      coalesce((select json_object_agg(d.sku, json_build_object('supplierId', d.supplier_id, 'supplier', d.code))
        from (select distinct on (v.id) v.sku, si.supplier_id, s.code
              from variants v join supplier_items si on si.variant_id = v.id and si.dropship
              join suppliers s on s.id = si.supplier_id and s.active
              where v.sku = any((select ${skus}::text[])::text[]) and v.kind = 'physical'
              order by v.id, si.priority, si.cost, s.id) d), '{}') as dropship,
      coalesce((select json_agg(json_build_object('id', id, 'code', code, 'config', config)) from channels
        where code = any((select ${codes}::text[])::text[])), '[]') as channels,
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
      coalesce((select json_agg(json_build_array(id, status)) from reservations
        where id = any((select ${reservationIds}::bigint[])::bigint[])), '[]') as reservations,
      case when (select value #>> '{fraud,max_orders_per_email_per_hour}' from settings where key = 'orders') is not null
        then (select json_agg((select count(*) from orders o where lower(o.customer_email) = lower(u.email)
                 and o.placed_at > u.at - interval '1 hour') order by u.n)
              from unnest((select ${inputs.map((x) => x.input.customer.email)}::text[])::text[],
                (select ${inputs.map((x) => x.placedAt.toISOString())}::timestamptz[])::timestamptz[])
                with ordinality as u(email, at, n))
      end as recent`.execute(tx);
  const row = found.rows[0];
  const stored = settingsFrom(row.settings);
  const channels = new Map(row.channels.map((c) => [c.code, c]));
  const items = new Map(row.items.map((i) => [i.sku, i]));
  const reservations = new Map(row.reservations);
  return inputs.map(({ input }, n) => {
    const code = input.channel ?? "manual";
    const channel = channels.get(code);
    if (!channel) {
      return {
        refused: new ValidationFailed([
          {
            path: "body.channel",
            message: `unknown channel ${JSON.stringify(code)}; create it with POST /v1/channels`,
          },
        ]),
      };
    }
    const unknown = input.lines.flatMap((l, i) =>
      items.has(l.sku)
        ? []
        : [{ path: `body.lines.${i}.sku`, message: `unknown SKU ${JSON.stringify(l.sku)}` }],
    );
    if (unknown.length) return { refused: new ValidationFailed(unknown) };
    const offSale = input.lines.flatMap((l, i) => {
      const status = items.get(l.sku)!.status;
      return status === "active"
        ? []
        : [{ path: `body.lines.${i}.sku`, message: `${l.sku} is not on sale (product ${status})` }];
    });
    if (offSale.length) return { refused: new ValidationFailed(offSale) };
    const mine = new Map(input.lines.map((l) => [l.sku, items.get(l.sku)!]));
    const ctx: PlacementContext = {
      settings: settings ?? stored,
      stored,
      channel: { ...channel, config: channel.config ?? {} },
      items: mine,
      locations: row.locations,
      reservation:
        input.reservation_id === undefined ? null : (reservations.get(input.reservation_id) ?? null),
      tax: { settings: row.tax, classes: row.tax_classes },
      dropship: new Map(
        input.lines.flatMap((l) => (row.dropship[l.sku] ? [[l.sku, row.dropship[l.sku]] as const] : [])),
      ),
    };
    return { ctx, recent: row.recent ? row.recent[n] : null };
  });
}

/** One placement's context; a refusal is thrown. */
export async function readPlacementContext(
  tx: Tx,
  input: PlaceOrderBody,
  placedAt: Date,
  settings?: OrderSettings,
): Promise<{ ctx: PlacementContext; recent: number | null }> {
  const [found] = await readPlacementContexts(tx, [{ input, placedAt }], settings);
  if ("refused" in found) throw found.refused;
  return found;
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
