import { z } from "zod";

/** Request and response shapes of the cycle count API. */

const Sku = z.string().trim().min(1).max(64);
const LocationCode = z.string().trim().min(1).max(64);
const AbcClass = z.enum(["A", "B", "C"]);
const Status = z.enum(["open", "submitted", "approved", "cancelled"]);

export const IdParam = z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const StartCountBody = z
  .strictObject({
    location: LocationCode,
    skus: z.array(Sku).min(1).max(5000).optional(),
    abc_class: AbcClass.optional(),
    blind: z
      .boolean()
      .default(false)
      .describe("counters do not see expected quantities while the count is open"),
    note: z.string().max(2000).optional(),
  })
  .refine((b) => b.skus === undefined || b.abc_class === undefined, {
    message: "give skus or abc_class, not both (neither: every SKU stocked at the location)",
    path: ["abc_class"],
  });

export const RecordBody = z.strictObject({
  lines: z
    .array(z.strictObject({ sku: Sku, counted: z.number().int().min(0).max(10_000_000) }))
    .min(1)
    .max(5000),
});

export const SubmitBody = z
  .strictObject({
    uncounted: z
      .enum(["skip", "zero"])
      .default("skip")
      .describe("lines nobody counted: leave them out (skip) or count them as 0 (zero)"),
  })
  .default({ uncounted: "skip" });

export const CountLine = z.object({
  sku: z.string(),
  expected: z.number().nullable().describe("on_hand at the start; null while a blind count is open"),
  counted: z.number().nullable(),
  counted_at: z.string().nullable(),
  movements_during_count: z
    .number()
    .nullable()
    .describe("on_hand movements between the start and the counting"),
  corrected_expected: z.number().nullable(),
  variance: z.number().nullable().describe("counted − corrected_expected"),
  variance_value: z.number().nullable().describe("variance × unit cost, minor units (after submission)"),
  needs_approval: z.boolean(),
});

const CountHead = {
  id: z.number(),
  location: z.string(),
  status: Status,
  allowed_actions: z.array(z.string()),
  scope: z.enum(["all", "skus", "abc"]),
  abc_class: AbcClass.nullable(),
  blind: z.boolean(),
  note: z.string().nullable(),
  created_at: z.string(),
  submitted_at: z.string().nullable(),
  approved_by: z.string().nullable(),
  ended_at: z.string().nullable(),
  summary: z.object({
    lines: z.number(),
    counted: z.number(),
    with_variance: z.number(),
    needing_approval: z.number(),
  }),
};
export const Count = z.object({ ...CountHead, lines: z.array(CountLine) });
export const CountSummary = z.object(CountHead);

export const CountsQuery = z.strictObject({ location: LocationCode.optional(), status: Status.optional() });

export const CountSettingsBody = z.strictObject({
  approval_units: z.number().int().min(0).max(10_000_000),
  approval_value: z.number().int().min(0).max(1_000_000_000_000).describe("minor units"),
});

export const AccuracyQuery = z.strictObject({
  location: LocationCode.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export const AccuracyRow = z.object({
  location: z.string(),
  counts: z.number(),
  lines_counted: z.number(),
  lines_accurate: z.number(),
  accuracy: z.number().nullable().describe("share of counted lines with zero variance"),
  value_counted: z.number(),
  value_accurate: z.number(),
  value_accuracy: z.number().nullable().describe("the same, weighted by value at unit cost"),
  variance_value_abs: z.number(),
  variance_value_net: z.number(),
  last_counted_at: z.string().nullable(),
});

export const AbcQuery = z.strictObject({
  location: LocationCode,
  days: z.coerce.number().int().min(7).max(730).default(90),
  live: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe(
      "classify from the ledger now instead of serving the classification kept by the background job",
    ),
});
export const AbcRow = z.object({
  sku: z.string(),
  class: AbcClass,
  units_sold: z.number(),
  value: z.number(),
});
export const AbcReport = z.object({
  data: z.array(AbcRow),
  computed_at: z
    .string()
    .describe("when the classification was made: sales over the `days` before this moment are counted"),
  source: z
    .enum(["stored", "computed_now"])
    .describe(
      "stored: kept up to date by the background job (at most minutes old, see computed_at); computed_now: made for this request",
    ),
});
