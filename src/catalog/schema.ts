import { z } from "zod";
import { gtinProblem } from "./gtin.js";
import { type Issue, productInputIssues } from "./rules.js";

/**
 * Request and response shapes of the catalog API. Requests are strict (an
 * unknown field is a 400) and bounded; checks that need no database run here
 * so the client gets a 400 naming the field.
 */

export const LIMITS = {
  options: 10,
  variants: 250,
  components: 50,
  title: 500,
  description: 20_000,
} as const;

const INT4_MAX = 2_147_483_647;

/** Same rule as the database's check constraint on variants.sku. */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;
export const LOCATION_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const HANDLE_PATTERN = /^[a-z0-9][a-z0-9-]{0,199}$/;

export const sku = z
  .string()
  .trim()
  .min(1, "a SKU is 1-64 characters")
  .max(64, "a SKU is 1-64 characters")
  .regex(SKU_PATTERN, "a SKU has letters, digits and . _ - / only, and starts with a letter or digit")
  .describe("Stock keeping unit: 1-64 of A-Z a-z 0-9 . _ - /, starting with a letter or digit; trimmed");

export const locationCode = z
  .string()
  .trim()
  .regex(
    LOCATION_CODE_PATTERN,
    "a location code is 1-64 letters, digits and . _ -, starting with a letter or digit",
  );

export const kindOfLocation = z.enum(["warehouse", "store", "3pl"]);
export const productKind = z.enum(["physical", "digital", "bundle"]);
export const productStatus = z.enum(["draft", "active", "archived"]);
export const inventoryPolicy = z.enum(["deny", "backorder", "preorder"]);

const money = z.int().min(0).describe("integer minor units (cents)");
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "an ISO 4217 currency code: three uppercase letters")
  .describe("ISO 4217 code, e.g. EUR");
const country = z.string().regex(/^[A-Z]{2}$/, "an ISO 3166-1 alpha-2 country code: two uppercase letters");
const name = z.string().trim().min(1).max(200);
const title = z.string().trim().min(1).max(LIMITS.title);
const description = z.string().max(LIMITS.description);
const handle = z
  .string()
  .trim()
  .regex(
    HANDLE_PATTERN,
    "a handle is 1-200 lowercase letters, digits and -, starting with a letter or digit",
  );
const barcode = z
  .string()
  .trim()
  .max(14, "a GTIN has 8, 12, 13 or 14 digits")
  .superRefine((value, ctx) => {
    const problem = gtinProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe("GTIN-8, -12 (UPC), -13 (EAN) or -14 with a valid check digit");
const optionName = z.string().trim().min(1).max(100);
const optionValue = z.string().trim().min(1).max(200);
const variantOptions = z
  .record(optionName, optionValue)
  .refine((o) => Object.keys(o).length <= LIMITS.options, `at most ${LIMITS.options} options`)
  .describe("one value for each of the product's options, e.g. {Size: M}");
const weightGrams = z.int().min(0).max(INT4_MAX);
const threshold = z.int().min(0).max(INT4_MAX);
const unitOfMeasure = z.string().trim().min(1).max(32);

// ---------------------------------------------------------------- locations

export const CreateLocationBody = z.strictObject({
  code: locationCode,
  name,
  kind: kindOfLocation,
  priority: z.int().min(0).max(1_000_000).optional().describe("lower = preferred; default 100"),
  country: country.nullable().optional(),
  active: z.boolean().optional(),
});
export type CreateLocationInput = z.infer<typeof CreateLocationBody>;

export const UpdateLocationBody = z.strictObject({
  name: name.optional(),
  priority: z.int().min(0).max(1_000_000).optional(),
  country: country.nullable().optional(),
  active: z.boolean().optional(),
});
export type UpdateLocationInput = z.infer<typeof UpdateLocationBody>;

export const LocationParams = z.strictObject({ code: z.string().min(1).max(64) });

export const ListLocationsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
  kind: kindOfLocation.optional(),
  active: z.enum(["true", "false"]).optional(),
});

// ----------------------------------------------------------------- products

export const ComponentInput = z.strictObject({
  sku,
  quantity: z.int().min(1).max(10_000),
});

export const NewVariantInput = z.strictObject({
  sku,
  title: title.nullable().optional(),
  options: variantOptions.optional(),
  price: money,
  currency,
  barcode: barcode.nullable().optional(),
  cost: money.nullable().optional(),
  weight_grams: weightGrams.nullable().optional(),
  unit_of_measure: unitOfMeasure.optional(),
  inventory_policy: inventoryPolicy.optional(),
  low_stock_threshold: threshold.nullable().optional(),
  tax_class: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/)
    .optional()
    .describe("the tax class its rate is looked up by; `standard` when left out"),
});
export type NewVariantInput = z.infer<typeof NewVariantInput>;

function addIssues(ctx: z.RefinementCtx, issues: Issue[]) {
  for (const issue of issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
}

export const CreateProductBody = z
  .strictObject({
    title,
    handle: handle.optional().describe("URL name; generated from the title when absent"),
    kind: productKind,
    status: productStatus,
    description: description.nullable().optional(),
    options: z.array(optionName).max(LIMITS.options).optional().describe("option names, e.g. [Size, Color]"),
    variants: z.array(NewVariantInput).min(1).max(LIMITS.variants),
    components: z
      .array(ComponentInput)
      .min(1)
      .max(LIMITS.components)
      .optional()
      .describe("bundles only: what one unit of the bundle consists of"),
  })
  .superRefine((body, ctx) => {
    addIssues(
      ctx,
      productInputIssues({
        kind: body.kind,
        options: body.options ?? [],
        variants: body.variants.map((v, i) => ({ ...v, options: v.options ?? {}, path: ["variants", i] })),
        components: body.components?.map((c, i) => ({ sku: c.sku, path: ["components", i] })),
      }),
    );
  });
export type CreateProductInput = z.infer<typeof CreateProductBody>;

export const VariantPatch = z.strictObject({
  sku: sku.describe("an existing SKU of this product to change, or a new one to add"),
  title: title.nullable().optional(),
  options: variantOptions.optional(),
  price: money.optional(),
  currency: currency.optional(),
  barcode: barcode.nullable().optional(),
  cost: money.nullable().optional(),
  weight_grams: weightGrams.nullable().optional(),
  unit_of_measure: unitOfMeasure.optional(),
  inventory_policy: inventoryPolicy.optional(),
  low_stock_threshold: threshold.nullable().optional(),
  tax_class: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/)
    .optional()
    .describe("the tax class its rate is looked up by; `standard` when left out"),
});
export type VariantPatch = z.infer<typeof VariantPatch>;

export const UpdateProductBody = z
  .strictObject({
    title: title.optional(),
    handle: handle.optional(),
    kind: productKind.optional().describe("cannot change; accepted when equal to the current kind"),
    status: productStatus.optional(),
    description: description.nullable().optional(),
    variants: z
      .array(VariantPatch)
      .max(LIMITS.variants)
      .optional()
      .describe(
        "by SKU: changes an existing variant, or adds a new one (then price and currency are required)",
      ),
    components: z
      .array(ComponentInput)
      .min(1)
      .max(LIMITS.components)
      .optional()
      .describe("bundles only: replaces the bundle's components"),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.variants?.forEach((v, i) => {
      if (seen.has(v.sku)) {
        ctx.addIssue({ code: "custom", path: ["variants", i, "sku"], message: `duplicate SKU ${v.sku}` });
      }
      seen.add(v.sku);
    });
    const components = new Set<string>();
    body.components?.forEach((c, i) => {
      if (components.has(c.sku)) {
        ctx.addIssue({ code: "custom", path: ["components", i, "sku"], message: `duplicate SKU ${c.sku}` });
      }
      components.add(c.sku);
    });
  });
export type UpdateProductInput = z.infer<typeof UpdateProductBody>;

export const ProductParams = z.strictObject({
  id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export const VariantParams = z.strictObject({ sku: z.string().min(1).max(200) });

export const ListProductsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  status: productStatus.optional(),
  kind: productKind.optional(),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe("case-insensitive prefix of the title or of any SKU"),
});
