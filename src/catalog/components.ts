import type { Tx } from "../db/tx.js";
import { type CatalogVariant, findVariantsBySku } from "./lookup.js";
import type { Issue, Path } from "./rules.js";

/** Bundle components as the client names them (by SKU), resolved against the catalog. */

export interface ResolvedComponent {
  variant: CatalogVariant;
  quantity: number;
}

/**
 * Looks the component SKUs up; each must be an existing physical variant
 * (bundles cannot nest and digital goods have no stock to take).
 */
export async function resolveComponents(
  tx: Tx,
  components: { sku: string; quantity: number }[],
  path: Path,
): Promise<{ resolved: ResolvedComponent[]; issues: Issue[] }> {
  const found = await findVariantsBySku(
    tx,
    components.map((c) => c.sku),
  );
  const resolved: ResolvedComponent[] = [];
  const issues: Issue[] = [];
  components.forEach((c, i) => {
    const variant = found.get(c.sku);
    if (!variant) {
      issues.push({ path: [...path, i, "sku"], message: `no variant has SKU ${c.sku}` });
    } else if (variant.kind !== "physical") {
      issues.push({
        path: [...path, i, "sku"],
        message: `${c.sku} is a ${variant.kind} variant; bundle components must be physical`,
      });
    } else resolved.push({ variant, quantity: c.quantity });
  });
  return { resolved, issues };
}

export async function insertComponents(tx: Tx, productId: number, components: ResolvedComponent[]) {
  if (components.length === 0) return;
  await tx
    .insertInto("bundle_components")
    .values(
      components.map((c) => ({
        product_id: productId,
        component_variant_id: c.variant.id,
        quantity: c.quantity,
      })),
    )
    .execute();
}
