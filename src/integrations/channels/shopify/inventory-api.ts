import { createHash } from "node:crypto";
import type { ShopifyClient } from "./client.js";

/** The inventory documents Keel sends to Shopify, and what comes back, typed. */

export const MAX_QUANTITIES = 250; // Shopify's cap on input arrays

export interface LevelRef {
  inventoryItemId: string;
  locationId: string;
}

export interface SetRow extends LevelRef {
  quantity: number;
  /** the last value Shopify confirmed; the compare-and-set */
  changeFromQuantity: number | null;
}

export interface SetUserError {
  code: string | null;
  field: string[] | null;
  message: string;
}

/** A deterministic @idempotent key for one attempt: the same rows at the same confirmation → the same key. */
export function idempotencyKey(channelId: number, rows: (SetRow & { version: number })[]): string {
  const h = createHash("sha256").update(`keel-stock:${channelId}`);
  for (const r of rows)
    h.update(`|${r.inventoryItemId}@${r.locationId}:${r.changeFromQuantity}>${r.quantity}#${r.version}`);
  const d = h.digest("hex");
  // shaped like a UUID, as Shopify's examples are
  return `${d.slice(0, 8)}-${d.slice(8, 12)}-${d.slice(12, 16)}-${d.slice(16, 20)}-${d.slice(20, 32)}`;
}

const SET_QUANTITIES = `mutation KeelSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}`;

/** One inventorySetQuantities call (name: available); resolves with the user errors (empty: applied). */
export async function setQuantities(
  client: ShopifyClient,
  key: string,
  rows: SetRow[],
  reference: string,
): Promise<SetUserError[]> {
  if (rows.length > MAX_QUANTITIES) throw new Error(`at most ${MAX_QUANTITIES} quantities per call`);
  const r = await client.request<{
    inventorySetQuantities: { userErrors: SetUserError[] } | null;
  }>(
    SET_QUANTITIES,
    {
      key,
      input: {
        name: "available",
        reason: "correction",
        referenceDocumentUri: reference,
        quantities: rows.map((q) => ({
          inventoryItemId: q.inventoryItemId,
          locationId: q.locationId,
          quantity: q.quantity,
          changeFromQuantity: q.changeFromQuantity,
        })),
      },
    },
    { name: "KeelSetQuantities", estimatedCost: 10 },
  );
  return r.data.inventorySetQuantities?.userErrors ?? [];
}

/** The row a user error is about (`field: ["input", "quantities", "3", ...]`), if it names one. */
export function rowOf(e: SetUserError): number | null {
  const f = e.field ?? [];
  return f[0] === "input" && f[1] === "quantities" && /^\d+$/.test(f[2] ?? "") ? Number(f[2]) : null;
}

/**
 * Reads the `available` quantity of each item at the given locations, 100
 * items per call. Missing from the result: the item is unknown or not
 * stocked at that location.
 */
export async function readAvailable(client: ShopifyClient, refs: LevelRef[]): Promise<Map<string, number>> {
  const byItem = new Map<string, Set<string>>();
  for (const r of refs) {
    let s = byItem.get(r.inventoryItemId);
    if (!s) {
      s = new Set();
      byItem.set(r.inventoryItemId, s);
    }
    s.add(r.locationId);
  }
  const out = new Map<string, number>();
  const items = [...byItem.keys()];
  const locations = [...new Set(refs.map((r) => r.locationId))];
  const aliases = locations
    .map(
      (l, i) =>
        `l${i}: inventoryLevel(locationId: ${JSON.stringify(l)}) { quantities(names: ["available"]) { name quantity } }`,
    )
    .join(" ");
  const query = `query KeelLevels($ids: [ID!]!) { nodes(ids: $ids) { ... on InventoryItem { id ${aliases} } } }`;
  for (let i = 0; i < items.length; i += 100) {
    const ids = items.slice(i, i + 100);
    const r = await client.request<{
      nodes: (
        | (Record<string, { quantities: { name: string; quantity: number }[] } | null> & { id?: string })
        | null
      )[];
    }>(
      query,
      { ids },
      {
        name: `KeelLevels${locations.length}x${ids.length}`,
        estimatedCost: ids.length * (1 + 2 * locations.length),
      },
    );
    for (const node of r.data.nodes) {
      if (!node?.id) continue;
      locations.forEach((l, k) => {
        const level = node[`l${k}`] as
          | { quantities: { name: string; quantity: number }[] }
          | null
          | undefined;
        const q = level?.quantities?.find((x) => x.name === "available");
        if (q && typeof q.quantity === "number") out.set(`${node.id}@${l}`, q.quantity);
      });
    }
  }
  return out;
}

export const levelKey = (r: LevelRef) => `${r.inventoryItemId}@${r.locationId}`;

export interface VariantNode {
  id: string;
  sku: string | null;
  title: string | null;
  /** decimal in the shop's currency */
  price: string | null;
  product: { id: string; title: string; status: string } | null;
  inventoryItem: { id: string } | null;
}

const VARIANTS = `query KeelVariants($after: String) {
  productVariants(first: 250, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku title price product { id title status } inventoryItem { id } }
  }
}`;

/** Pages through every variant of the shop, 250 at a time. */
export async function* variantPages(client: ShopifyClient): AsyncGenerator<VariantNode[]> {
  let after: string | null = null;
  for (;;) {
    const r: {
      data: {
        productVariants: {
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          nodes: VariantNode[];
        };
      };
    } = await client.request(VARIANTS, { after }, { name: "KeelVariants", estimatedCost: 2 + 250 * 2 });
    const page = r.data.productVariants;
    yield page.nodes;
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
  }
}
