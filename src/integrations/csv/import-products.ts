import type { z } from "zod";
import { createProduct, updateProduct } from "../../catalog/product-writes.js";
import {
  CreateProductBody,
  HANDLE_PATTERN,
  NewVariantInput,
  type VariantPatch,
} from "../../catalog/schema.js";
import type { DB } from "../../db/pool.js";
import type { CsvRecord } from "./imports.js";

/**
 * One row of a Shopify product CSV (both the current template and the legacy
 * one with "Variant SKU", "Variant Price", ...) → one Keel variant, created
 * with its product on the product's first good row and updated by SKU after.
 */

export interface ProductRow {
  record: CsvRecord;
  handle: string;
}

class RowError extends Error {}

/** "19.99" → 1999 for a currency with two minor digits. */
export function minorUnits(text: string, currency: string): number {
  const digits =
    new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const m = /^(\d{1,12})(?:\.(\d+))?$/.exec(text.replace(/,/g, ""));
  if (!m) throw new RowError(`${JSON.stringify(text)} is not an amount like 19.99`);
  const fraction = m[2] ?? "";
  if (fraction.replace(/0+$/, "").length > digits) {
    throw new RowError(`${text} has more than ${digits} decimals for ${currency}`);
  }
  return Number(m[1]) * 10 ** digits + Number(fraction.padEnd(digits, "0").slice(0, digits) || "0");
}

function optionNames(first: CsvRecord): string[] {
  const names: string[] = [];
  for (const n of [1, 2, 3]) {
    const name = first.get(`option${n} name`);
    if (name) names.push(name);
  }
  // Shopify's "Title: Default Title" means a product without options
  return names.length === 1 && names[0] === "Title" && first.get("option1 value") === "Default Title"
    ? []
    : names;
}

function policy(r: CsvRecord): "deny" | "backorder" | undefined {
  const v = r.get("continue selling when out of stock", "variant inventory policy")?.toLowerCase();
  if (v === undefined) return undefined;
  if (v === "deny") return "deny";
  if (v === "continue") return "backorder";
  throw new RowError(`inventory policy ${JSON.stringify(v)} is neither DENY nor CONTINUE`);
}

function status(first: CsvRecord): "active" | "draft" | "archived" {
  const s = first.get("status")?.toLowerCase();
  if (s === "active" || s === "draft" || s === "archived") return s;
  if (s !== undefined) throw new RowError(`status ${JSON.stringify(s)} is not active, draft or archived`);
  return first.get("published")?.toLowerCase() === "false" ? "draft" : "active";
}

function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "row"}: ${i.message}`).join("; ");
}

function variantOf(row: ProductRow, currency: string, names: string[]) {
  const r = row.record;
  const sku = r.get("variant sku", "sku");
  if (!sku) throw new RowError("SKU is empty");
  const price = r.get("variant price", "price");
  if (!price) throw new RowError("Price is empty");
  const options: Record<string, string> = {};
  [1, 2, 3].forEach((n, i) => {
    const value = r.get(`option${n} value`);
    if (value === undefined) return;
    const name = names[i];
    if (name === undefined) {
      if (names.length === 0 && value === "Default Title") return;
      throw new RowError(`Option${n} value ${JSON.stringify(value)} has no Option${n} name on the first row`);
    }
    options[name] = value;
  });
  const cost = r.get("cost per item");
  const grams = r.get("variant grams", "weight value (grams)");
  const input = {
    sku,
    options,
    price: minorUnits(price, currency),
    currency,
    barcode: r.get("variant barcode", "barcode"),
    cost: cost === undefined ? undefined : minorUnits(cost, currency),
    weight_grams: grams === undefined ? undefined : Math.round(Number(grams)),
    inventory_policy: policy(r),
  };
  const parsed = NewVariantInput.safeParse(input);
  if (!parsed.success) throw new RowError(issuesText(parsed.error));
  return parsed.data;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sortedKeys = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));

/** Applies one row in its own transaction; throws the reason when the row cannot apply. */
export async function importProductRow(db: DB, rows: ProductRow[], row: ProductRow, currency: string) {
  const first = rows[0].record;
  if (!HANDLE_PATTERN.test(row.handle)) {
    throw new RowError(`handle ${JSON.stringify(row.handle)} has characters other than a-z, 0-9 and -`);
  }
  const title = first.get("title");
  if (!title) throw new RowError(`the first row of ${row.handle} (line ${first.line}) has no Title`);
  const names = optionNames(first);
  const description = first.get("body (html)", "description");
  const productStatus = status(first);
  const variant = variantOf(row, currency, names);

  await db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom("products")
      .selectAll()
      .where("handle", "=", row.handle)
      .forUpdate()
      .executeTakeFirst();
    if (!existing) {
      const body = CreateProductBody.safeParse({
        title,
        handle: row.handle,
        kind: "physical",
        status: productStatus,
        description: description ?? null,
        options: names,
        variants: [variant],
      });
      if (!body.success) throw new RowError(issuesText(body.error));
      await createProduct(tx, body.data);
      return;
    }
    const current = await tx
      .selectFrom("variants")
      .selectAll()
      .where("sku", "=", variant.sku)
      .executeTakeFirst();
    if (current && current.product_id !== existing.id) {
      throw new RowError(`SKU ${variant.sku} belongs to another product`);
    }
    const patch: VariantPatch = { sku: variant.sku };
    if (!current) Object.assign(patch, variant);
    else {
      if (!same(sortedKeys(current.options), sortedKeys(variant.options ?? {})))
        patch.options = variant.options;
      for (const f of ["price", "currency", "barcode", "cost", "weight_grams", "inventory_policy"] as const) {
        const value = variant[f];
        if (value !== undefined && value !== current[f]) Object.assign(patch, { [f]: value });
      }
    }
    const changes = {
      title: title !== existing.title ? title : undefined,
      description:
        description !== undefined && description !== existing.description ? description : undefined,
      status: productStatus !== existing.status ? productStatus : undefined,
      variants: Object.keys(patch).length > 1 ? [patch] : undefined,
    };
    if (Object.values(changes).every((v) => v === undefined)) return; // already in effect
    await updateProduct(tx, existing.id, changes);
  });
}
