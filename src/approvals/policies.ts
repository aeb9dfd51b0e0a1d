import { z } from "zod";
import { PERMISSIONS, type Permission } from "../access/permissions.js";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * The four-eyes policies, stored in `settings` under the key `approvals`.
 * Every policy is off until switched on (`PUT /v1/settings/approvals`), so a
 * fresh Keel behaves as before. A `threshold` is in minor units: the value at
 * cost of a stock adjustment or of a count's variances, a refund's amount, a
 * purchase order's total. The approver needs the policy's permission (by
 * default the one the held-back write needs, or the dedicated approve
 * permission where Keel has one) and `approvals:read`.
 */
export const KINDS = [
  "stock_adjustment",
  "refund",
  "paid_order_cancel",
  "fraud_hold_release",
  "purchase_order",
  "count_variance",
  "admin_grant",
] as const;
export type Kind = (typeof KINDS)[number];

/** Who may approve, unless the settings say otherwise. */
export const DEFAULT_APPROVER: Record<Kind, Permission | "as_requested"> = {
  stock_adjustment: "inventory:adjust",
  refund: "refund:approve",
  paid_order_cancel: "order:cancel",
  fraud_hold_release: "order:hold",
  purchase_order: "po:approve",
  count_variance: "count:approve",
  // users:manage for a user's roles, keys:manage for a new key: the permission of the write itself
  admin_grant: "as_requested",
};

const PermissionName = z
  .string()
  .refine((p) => p in PERMISSIONS, "a permission Keel knows (GET /v1/roles lists them)");

export const Policy = z.strictObject({
  enabled: z.boolean(),
  threshold: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000_000)
    .nullable()
    .describe("minor units; above it the write needs an approval (null: always, for kinds that have one)"),
  approver_permission: PermissionName.nullable().describe("null: the default for the kind"),
});
export type Policy = z.infer<typeof Policy>;

export const ApprovalSettings = z.strictObject({
  expires_after_hours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90),
  policies: z.strictObject(Object.fromEntries(KINDS.map((k) => [k, Policy])) as Record<Kind, typeof Policy>),
});
export type ApprovalSettings = z.infer<typeof ApprovalSettings>;

/** A PUT body: any subset, each policy in part too. */
export const ApprovalSettingsPatch = z.strictObject({
  expires_after_hours: ApprovalSettings.shape.expires_after_hours.optional(),
  policies: z
    .strictObject(
      Object.fromEntries(KINDS.map((k) => [k, Policy.partial().optional()])) as Record<
        Kind,
        z.ZodOptional<ReturnType<typeof Policy.partial>>
      >,
    )
    .optional(),
});
export type ApprovalSettingsPatch = z.infer<typeof ApprovalSettingsPatch>;

const OFF: Policy = { enabled: false, threshold: null, approver_permission: null };

export const DEFAULT_SETTINGS: ApprovalSettings = {
  expires_after_hours: 72,
  policies: Object.fromEntries(KINDS.map((k) => [k, OFF])) as Record<Kind, Policy>,
};

function merge(base: ApprovalSettings, patch: ApprovalSettingsPatch): ApprovalSettings {
  const policies = { ...base.policies };
  for (const kind of KINDS) {
    const p = patch.policies?.[kind];
    if (p) policies[kind] = { ...policies[kind], ...p };
  }
  return { expires_after_hours: patch.expires_after_hours ?? base.expires_after_hours, policies };
}

export async function readApprovalSettings(db: DB | Tx): Promise<ApprovalSettings> {
  const row = await db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", "approvals")
    .executeTakeFirst();
  return merge(DEFAULT_SETTINGS, (row?.value ?? {}) as ApprovalSettingsPatch);
}

/** Saves a change to the policies under the settings row's lock; returns the whole result. */
export async function updateApprovalSettings(
  tx: Tx,
  patch: ApprovalSettingsPatch,
): Promise<ApprovalSettings> {
  const current = await tx
    .selectFrom("settings")
    .select("value")
    .where("key", "=", "approvals")
    .forUpdate()
    .executeTakeFirst();
  const next = merge(merge(DEFAULT_SETTINGS, (current?.value ?? {}) as ApprovalSettingsPatch), patch);
  const value = JSON.stringify(next);
  await tx
    .insertInto("settings")
    .values({ key: "approvals", value })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: new Date() }))
    .execute();
  return next;
}
