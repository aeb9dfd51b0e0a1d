import type { Selectable } from "kysely";
import type { ProductsTable } from "../db/schema.js";
import type { Tx } from "../db/tx.js";
import { Conflict } from "../http/errors.js";

/** Product handles: the URL name of a product, unique, `^[a-z0-9][a-z0-9-]{0,199}$`. */

const MAX_BASE = 190; // room for a "-123456" suffix within 200

/** "Blue T-Shirt (Größe M)" → "blue-t-shirt-grosse-m"; "product" when nothing is left. */
export function slugify(title: string): string {
  const slug = title
    .normalize("NFKD")
    .replace(/ß/g, "ss")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_BASE)
    .replace(/-+$/, "");
  return slug || "product";
}

type ProductValues = Omit<Selectable<ProductsTable>, "id" | "handle" | "created_at" | "updated_at">;

function insertWithHandle(tx: Tx, values: ProductValues, handle: string) {
  return tx
    .insertInto("products")
    .values({ ...values, options: JSON.stringify(values.options), handle })
    .onConflict((oc) => oc.column("handle").doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * Inserts a product. A handle the client chose must be free (409 otherwise);
 * without one the handle is the slugified title, made unique with -2, -3, …
 * Concurrent inserts of the same title cannot collide: ON CONFLICT waits for
 * the other transaction and the next free suffix is tried.
 */
export async function insertProduct(
  tx: Tx,
  values: ProductValues,
  handle: string | undefined,
): Promise<Selectable<ProductsTable>> {
  if (handle !== undefined) {
    const row = await insertWithHandle(tx, values, handle);
    if (!row) throw new Conflict(`handle ${JSON.stringify(handle)} is taken by another product`, { handle });
    return row;
  }
  const base = slugify(values.title);
  const first = await insertWithHandle(tx, values, base);
  if (first) return first;
  // Probe the unique index in growing batches of candidates instead of scanning for "base-%".
  for (let start = 2, size = 8; start < 10_000_000; start += size, size = Math.min(size * 4, 1000)) {
    const candidates = Array.from({ length: size }, (_, i) => `${base}-${start + i}`);
    const taken = new Set(
      (
        await tx
          .selectFrom("products")
          .select("handle")
          .where("handle", "=", (eb) => eb.fn.any(eb.val(candidates)))
          .execute()
      ).map((r) => r.handle),
    );
    for (const candidate of candidates) {
      if (taken.has(candidate)) continue;
      const row = await insertWithHandle(tx, values, candidate);
      if (row) return row;
    }
  }
  throw new Conflict(`no free handle for ${JSON.stringify(base)}; give one`, { handle: base });
}
