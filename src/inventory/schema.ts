import { z } from "zod";
import { pageQuery } from "../http/pagination.js";

/** Request and response shapes of the inventory API (shared/API.md, "Inventory"). */

export const Sku = z.string().trim().min(1).max(64);
export const LocationCode = z.string().trim().min(1).max(64);
const Quantity = z.number().int().min(1).max(1_000_000);
const Reference = z.string().trim().min(1).max(200);
const Note = z.string().max(2000);

export const Level = z.object({
  sku: z.string(),
  location: z.string(),
  on_hand: z.number(),
  reserved: z.number(),
  allocated: z.number(),
  safety_stock: z.number(),
  available: z.number(),
  incoming: z.number(),
  quarantine: z.number(),
  damaged: z.number(),
  return_pending: z.number(),
  updated_at: z.string(),
});

export const Movement = z.object({
  id: z.number(),
  sku: z.string(),
  location: z.string(),
  bucket: z.string(),
  delta: z.number(),
  reason: z.string(),
  reference: z.string().nullable(),
  actor: z.string(),
  note: z.string().nullable(),
  created_at: z.string(),
});

export const LevelsQuery = z.strictObject({
  sku: Sku.optional(),
  location: LocationCode.optional(),
  ...pageQuery,
});
export const MovementsQuery = z.strictObject({
  sku: Sku.optional(),
  location: LocationCode.optional(),
  reference: Reference.optional(),
  reason: z.string().max(40).optional(),
  ...pageQuery,
});

export const Availability = z.object({
  sku: z.string(),
  kind: z.string(),
  available: z.number().nullable().describe("null for goods without stock (digital)"),
  locations: z.array(z.object({ location: z.string(), available: z.number() })),
});

export const AdjustmentBody = z
  .strictObject({
    sku: Sku,
    location: LocationCode,
    delta: z
      .number()
      .int()
      .min(-1_000_000)
      .max(1_000_000)
      .refine((v) => v !== 0, "must not be 0")
      .optional(),
    set: z.number().int().min(0).max(10_000_000).optional(),
    bucket: z.enum(["on_hand", "quarantine", "damaged", "safety_stock"]).default("on_hand"),
    reason: z.string().min(1).max(40),
    reference: Reference.optional(),
    note: Note.optional(),
  })
  .refine((b) => (b.delta === undefined) !== (b.set === undefined), {
    message: "give exactly one of delta or set",
    path: ["delta"],
  });

const MovableBucket = z.enum(["on_hand", "quarantine", "damaged", "return_pending"]);
export const MoveBody = z.strictObject({
  sku: Sku,
  location: LocationCode,
  from: MovableBucket,
  to: MovableBucket,
  quantity: Quantity,
  reason: z.string().min(1).max(40),
  reference: Reference.optional(),
  note: Note.optional(),
});

export const TransferBody = z.strictObject({
  from: LocationCode,
  to: LocationCode,
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity }))
    .min(1)
    .max(500),
  reference: Reference.optional(),
});
export const ReceiveTransferBody = z
  .strictObject({
    lines: z
      .array(z.strictObject({ sku: Sku, quantity: Quantity }))
      .min(1)
      .max(500)
      .optional(),
  })
  .default({});
export const Transfer = z.object({
  id: z.number(),
  from: z.string(),
  to: z.string(),
  status: z.string(),
  reference: z.string().nullable(),
  created_at: z.string(),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number(), received: z.number() })),
});

export const ReservationBody = z.strictObject({
  lines: z
    .array(z.strictObject({ sku: Sku, quantity: Quantity, location: LocationCode.optional() }))
    .min(1)
    .max(100),
  ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .optional(),
  reference: Reference.optional(),
});
export const Reservation = z.object({
  id: z.number(),
  status: z.enum(["active", "released", "expired", "consumed"]),
  reference: z.string().nullable(),
  expires_at: z.string().nullable(),
  created_at: z.string(),
  lines: z.array(
    z.object({
      sku: z.string(),
      location: z.string().nullable(),
      quantity: z.number(),
      components: z.array(z.object({ sku: z.string(), quantity: z.number() })).optional(),
    }),
  ),
});

export const IdParam = z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const StorefrontQuery = z.strictObject({
  skus: z.string().min(1).max(6500).describe("comma-separated SKUs, at most 100"),
});
export const StorefrontAvailability = z.object({
  data: z.array(
    z.object({
      sku: z.string(),
      status: z.enum(["in_stock", "low_stock", "out_of_stock", "preorder", "backorder"]),
      quantity: z.number().optional(),
    }),
  ),
});
