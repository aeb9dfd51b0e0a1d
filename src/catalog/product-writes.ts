import { type Insertable, type Selectable, sql, type Updateable } from "kysely";
import type { ProductKind, VariantsTable } from "../db/schema.js";
import { pgErrorCode, type Tx } from "../db/tx.js";
import { emit } from "../events/outbox.js";
import { Conflict, NotFound, ValidationFailed } from "../http/errors.js";
import { insertComponents, type ResolvedComponent, resolveComponents } from "./components.js";
import { insertProduct } from "./handle.js";
import { getProduct, toVariant } from "./products.js";
import type { Product } from "./responses.js";
import { componentShapeIssues, type Issue, rejectIssues, toFieldErrors, variantIssues } from "./rules.js";
import {
  type CreateProductInput,
  LIMITS,
  type NewVariantInput,
  type UpdateProductInput,
  type VariantPatch,
} from "./schema.js";

/** Creating and changing products. Each function runs inside the caller's transaction. */

function variantRow(
  productId: number,
  kind: ProductKind,
  v: NewVariantInput,
  position: number,
): Insertable<VariantsTable> {
  return {
    product_id: productId,
    kind,
    sku: v.sku,
    title: v.title ?? null,
    options: JSON.stringify(v.options ?? {}),
    position,
    price: v.price,
    currency: v.currency,
    cost: v.cost ?? null,
    barcode: v.barcode ?? null,
    weight_grams: v.weight_grams ?? null,
    unit_of_measure: v.unit_of_measure,
    inventory_policy: v.inventory_policy,
    low_stock_threshold: v.low_stock_threshold ?? null,
    ...(v.tax_class ? { tax_class: v.tax_class } : {}),
  };
}

/**
 * Inserts variants; a SKU that another variant already has is a 409 naming
 * it. ON CONFLICT keeps the transaction usable and waits for a concurrent
 * insert of the same SKU instead of failing on it.
 */
async function insertVariants(
  tx: Tx,
  rows: Insertable<VariantsTable>[],
): Promise<Selectable<VariantsTable>[]> {
  if (rows.length === 0) return [];
  const inserted = await tx
    .insertInto("variants")
    // in SKU order, so two requests racing for overlapping SKUs wait on each other instead of deadlocking
    .values([...rows].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)))
    .onConflict((oc) => oc.column("sku").doNothing())
    .returningAll()
    .execute();
  if (inserted.length < rows.length) {
    const got = new Set(inserted.map((r) => r.sku));
    const taken = rows.map((r) => r.sku).filter((s) => !got.has(s));
    throw new Conflict(`SKU ${taken.join(", ")} already exists`, { sku: taken[0], skus: taken });
  }
  return inserted.sort((a, b) => a.position - b.position);
}

export async function createProduct(tx: Tx, input: CreateProductInput): Promise<Product> {
  let components: ResolvedComponent[] = [];
  if (input.kind === "bundle" && input.components) {
    const { resolved, issues } = await resolveComponents(tx, input.components, ["components"]);
    rejectIssues(issues);
    components = resolved;
  }
  const product = await insertProduct(
    tx,
    {
      title: input.title,
      kind: input.kind,
      status: input.status,
      description: input.description ?? null,
      options: input.options ?? [],
    },
    input.handle,
  );
  const variants = await insertVariants(
    tx,
    input.variants.map((v, i) => variantRow(product.id, input.kind, v, i)),
  );
  await insertComponents(tx, product.id, components);
  const result: Product = {
    id: product.id,
    title: product.title,
    handle: product.handle,
    kind: product.kind,
    status: product.status,
    description: product.description,
    options: product.options,
    variants: variants.map(toVariant),
    components: components.map((c) => ({
      variant_id: c.variant.id,
      product_id: c.variant.product_id,
      sku: c.variant.sku,
      title: c.variant.title,
      quantity: c.quantity,
    })),
    created_at: product.created_at.toISOString(),
    updated_at: product.updated_at.toISOString(),
  };
  await emit(tx, [{ type: "product.created", payload: result }]);
  return result;
}

const VARIANT_FIELDS = [
  "title",
  "options",
  "price",
  "currency",
  "barcode",
  "cost",
  "weight_grams",
  "unit_of_measure",
  "inventory_policy",
  "low_stock_threshold",
  "tax_class",
] as const;

function variantChanges(p: VariantPatch): Updateable<VariantsTable> {
  const set: Record<string, unknown> = {};
  for (const field of VARIANT_FIELDS) {
    const value = p[field];
    if (value !== undefined) set[field] = field === "options" ? JSON.stringify(value) : value;
  }
  return set as Updateable<VariantsTable>;
}

function isEmpty(input: UpdateProductInput): boolean {
  return Object.entries(input).every(([k, v]) => v === undefined || k === "kind");
}

/**
 * Changes a product: its fields, its variants by SKU (an unknown SKU adds a
 * variant), a bundle's components. The product row is locked first so two
 * changes to one product apply one after the other. A product's kind never
 * changes (422).
 */
export async function updateProduct(tx: Tx, id: number, input: UpdateProductInput): Promise<Product> {
  const product = await tx
    .selectFrom("products")
    .selectAll()
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
  if (!product) throw new NotFound("product", id);
  if (input.kind !== undefined && input.kind !== product.kind) {
    throw new ValidationFailed([
      { path: "body.kind", message: `a product's kind cannot change; this one is ${product.kind}` },
    ]);
  }
  if (isEmpty(input)) return getProduct(tx, id);

  const existing = await tx
    .selectFrom("variants")
    .selectAll()
    .where("product_id", "=", id)
    .orderBy("position")
    .orderBy("id")
    .execute();
  const bySku = new Map(existing.map((v) => [v.sku, v]));
  const patches = input.variants ?? [];
  const touched = new Set(patches.map((p) => p.sku));
  const issues: Issue[] = [];
  const updates: { id: number; set: Updateable<VariantsTable> }[] = [];
  const added: NewVariantInput[] = [];
  const shapes = existing
    .filter((v) => !touched.has(v.sku))
    .map((v) => ({ ...v, path: ["variants"] as (string | number)[] }));

  patches.forEach((p, i) => {
    const path = ["variants", i];
    const current = bySku.get(p.sku);
    if (current) {
      updates.push({ id: current.id, set: variantChanges(p) });
      shapes.push({ ...current, ...stripUndefined(p), options: p.options ?? current.options, path });
      return;
    }
    for (const field of ["price", "currency"] as const) {
      if (p[field] === undefined) {
        issues.push({ path: [...path, field], message: `required for a new variant (${p.sku} is new)` });
      }
    }
    if (p.price !== undefined && p.currency !== undefined) {
      added.push({ ...p, price: p.price, currency: p.currency });
    }
    shapes.push({ ...p, options: p.options ?? {}, path } as (typeof shapes)[number]);
  });
  issues.push(...variantIssues(product.kind, product.options, shapes));
  if (existing.length + added.length > LIMITS.variants) {
    issues.push({ path: ["variants"], message: `a product has at most ${LIMITS.variants} variants` });
  }

  let components: ResolvedComponent[] | undefined;
  if (input.components) {
    const shape = componentShapeIssues(
      product.kind,
      input.components.map((c, i) => ({ sku: c.sku, path: ["components", i] })),
      [...existing, ...added],
    );
    issues.push(...shape);
    if (shape.length === 0) {
      const found = await resolveComponents(tx, input.components, ["components"]);
      issues.push(...found.issues);
      components = found.resolved;
    }
  }
  if (issues.length) throw new ValidationFailed(toFieldErrors(issues));

  try {
    await tx
      .updateTable("products")
      .set({
        title: input.title,
        handle: input.handle,
        status: input.status,
        description: input.description,
        updated_at: sql`now()`,
      })
      .where("id", "=", id)
      .execute();
  } catch (err) {
    if (pgErrorCode(err) === "23505" && input.handle !== undefined) {
      throw new Conflict(`handle ${JSON.stringify(input.handle)} is taken by another product`, {
        handle: input.handle,
      });
    }
    throw err;
  }
  for (const u of updates) {
    if (Object.keys(u.set).length === 0) continue;
    await tx
      .updateTable("variants")
      .set({ ...u.set, updated_at: sql`now()` })
      .where("id", "=", u.id)
      .execute();
  }
  const nextPosition = existing.reduce((max, v) => Math.max(max, v.position + 1), 0);
  await insertVariants(
    tx,
    added.map((v, i) => variantRow(id, product.kind, v, nextPosition + i)),
  );
  if (components) {
    await tx.deleteFrom("bundle_components").where("product_id", "=", id).execute();
    await insertComponents(tx, id, components);
  }
  const result = await getProduct(tx, id);
  await emit(tx, [{ type: "product.updated", payload: result }]);
  return result;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
