import type { Tx } from "../db/tx.js";
import { ValidationFailed } from "../http/errors.js";
import { resolveLocations, resolveSkus } from "../inventory/refs.js";
import { createPurchaseOrder, type PurchaseOrderView } from "../purchasing/orders.js";
import { resolveSupplier, sourcingFor } from "../purchasing/suppliers.js";

export interface AcceptedSuggestion {
  sku: string;
  location: string;
  quantity: number;
  supplier?: string;
}

/**
 * Turns the suggestions a buyer accepted into draft purchase orders, one per
 * supplier × destination, each line at the supplier item's cost. A line
 * names its supplier, or takes the SKU's preferred one; a SKU the supplier
 * does not sell is refused, and then no order is created.
 */
export async function draftOrdersFromSuggestions(
  tx: Tx,
  accepted: AcceptedSuggestion[],
  actor: string,
): Promise<PurchaseOrderView[]> {
  const items = await resolveSkus(
    tx,
    accepted.map((a, i) => ({ sku: a.sku, path: `body.suggestions.${i}.sku` })),
  );
  await resolveLocations(
    tx,
    accepted.map((a, i) => ({ code: a.location, path: `body.suggestions.${i}.location` })),
  );
  const errors: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  const groups = new Map<
    string,
    { supplier: string; location: string; lines: { sku: string; quantity: number; unit_cost: number }[] }
  >();
  for (const [i, a] of accepted.entries()) {
    const key = `${a.sku}@${a.location}`;
    if (seen.has(key)) {
      errors.push({ path: `body.suggestions.${i}.sku`, message: `${a.sku} at ${a.location} listed twice` });
      continue;
    }
    seen.add(key);
    const variantId = items.get(a.sku)!.id;
    const named = a.supplier
      ? await resolveSupplier(tx, a.supplier, `body.suggestions.${i}.supplier`)
      : undefined;
    const source = (await sourcingFor(tx, [variantId], named?.id)).get(variantId);
    if (!source) {
      errors.push({
        path: `body.suggestions.${i}.supplier`,
        message: a.supplier
          ? `supplier ${a.supplier} does not sell ${a.sku}`
          : `no active supplier sells ${a.sku}`,
      });
      continue;
    }
    const group = `${source.supplier}\u0000${a.location}`;
    const g = groups.get(group) ?? { supplier: source.supplier, location: a.location, lines: [] };
    g.lines.push({ sku: a.sku, quantity: a.quantity, unit_cost: source.cost });
    groups.set(group, g);
  }
  if (errors.length) throw new ValidationFailed(errors);
  const orders: PurchaseOrderView[] = [];
  for (const g of [...groups.values()].sort((a, b) =>
    (a.supplier + a.location).localeCompare(b.supplier + b.location),
  )) {
    orders.push(
      await createPurchaseOrder(
        tx,
        { ...g, reference: "replenishment", note: "from replenishment suggestions" },
        actor,
      ),
    );
  }
  return orders;
}
