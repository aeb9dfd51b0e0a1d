import { z } from "zod";
import { inventoryPolicy, kindOfLocation, productKind, productStatus } from "./schema.js";

/** Response shapes of the catalog API (dates as ISO 8601 strings), for serialisation and /openapi.json. */

const timestamp = z.iso.datetime();
const id = z.int();

export const Location = z.object({
  id,
  code: z.string(),
  name: z.string(),
  kind: kindOfLocation,
  priority: z.int(),
  country: z.string().nullable(),
  active: z.boolean(),
  created_at: timestamp,
  updated_at: timestamp,
});
export type Location = z.infer<typeof Location>;

export const Variant = z.object({
  id,
  product_id: id,
  sku: z.string(),
  kind: productKind,
  title: z.string().nullable(),
  options: z.record(z.string(), z.string()),
  position: z.int(),
  price: z.int(),
  currency: z.string(),
  cost: z.int().nullable(),
  barcode: z.string().nullable(),
  weight_grams: z.int().nullable(),
  unit_of_measure: z.string(),
  inventory_policy: inventoryPolicy,
  low_stock_threshold: z.int().nullable(),
  tax_class: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
});
export type Variant = z.infer<typeof Variant>;

export const Component = z.object({
  variant_id: id,
  product_id: id.describe("the component's product"),
  sku: z.string(),
  title: z.string().nullable().describe("the component variant's title"),
  quantity: z.int().describe("units of this component in one unit of the bundle"),
});
export type Component = z.infer<typeof Component>;

export const Product = z.object({
  id,
  title: z.string(),
  handle: z.string(),
  kind: productKind,
  status: productStatus,
  description: z.string().nullable(),
  options: z.array(z.string()),
  variants: z.array(Variant),
  components: z.array(Component).describe("bundles only; empty for other kinds"),
  created_at: timestamp,
  updated_at: timestamp,
});
export type Product = z.infer<typeof Product>;

export const VariantDetail = Variant.extend({
  product_title: z.string(),
  product_handle: z.string(),
  status: productStatus.describe("the product's status"),
  components: z.array(Component).describe("bundles only; empty for other kinds"),
});
export type VariantDetail = z.infer<typeof VariantDetail>;

export const LocationPage = z.object({ data: z.array(Location), next_cursor: z.string().nullable() });
export const ProductPage = z.object({ data: z.array(Product), next_cursor: z.string().nullable() });

/** problem+json (RFC 9457) as the error handler writes it. */
export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .describe("application/problem+json");
