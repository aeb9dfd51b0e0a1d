import { z } from "zod";
import type { DB } from "../db/pool.js";
import type { Tx } from "../db/tx.js";

/**
 * The seller printed on invoices and the chart of accounts the journal posts
 * to, kept under the `finance` key of the settings table. The stock trigger
 * (migrations/080_finance.sql) reads the same accounts.
 */

const Code = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, "an account code such as 4000");
const Line = z.string().trim().min(1).max(300);

export const Accounts = z.strictObject({
  revenue: Code,
  shipping_revenue: Code,
  tax_payable: Code,
  receivables: Code,
  payment_clearing: Code,
  refunds: Code,
  cogs: Code,
  inventory: Code,
  inventory_writeoff: Code,
  purchase_clearing: Code,
});
export type Accounts = z.infer<typeof Accounts>;
export type AccountRole = keyof Accounts;

export const Seller = z.strictObject({
  name: Line,
  address: z.array(Line).max(6).default([]),
  vat_id: Line.optional(),
  email: z.email().optional(),
  phone: Line.optional(),
});
export type Seller = z.infer<typeof Seller>;

export const FinanceSettings = z.strictObject({
  seller: Seller,
  accounts: Accounts,
});
export type FinanceSettings = z.infer<typeof FinanceSettings>;

export const FinanceSettingsPatch = z.strictObject({
  seller: Seller.optional(),
  accounts: Accounts.partial().optional(),
});

export const DEFAULT_ACCOUNTS: Accounts = {
  revenue: "4000",
  shipping_revenue: "4100",
  tax_payable: "2200",
  receivables: "1200",
  payment_clearing: "1100",
  refunds: "4900",
  cogs: "5000",
  inventory: "1300",
  inventory_writeoff: "5900",
  purchase_clearing: "2100",
};

export const DEFAULT_FINANCE_SETTINGS: FinanceSettings = {
  seller: { name: "Keel shop", address: [] },
  accounts: DEFAULT_ACCOUNTS,
};

export async function readFinanceSettings(db: DB | Tx): Promise<FinanceSettings> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", "finance").executeTakeFirst();
  const v = (row?.value as Partial<FinanceSettings>) ?? {};
  return {
    seller: v.seller ?? DEFAULT_FINANCE_SETTINGS.seller,
    accounts: { ...DEFAULT_ACCOUNTS, ...(v.accounts ?? {}) },
  };
}

export async function writeFinanceSettings(
  tx: Tx,
  patch: z.infer<typeof FinanceSettingsPatch>,
): Promise<FinanceSettings> {
  const cur = await readFinanceSettings(tx);
  const value: FinanceSettings = {
    seller: patch.seller ?? cur.seller,
    accounts: { ...cur.accounts, ...(patch.accounts ?? {}) },
  };
  await tx
    .insertInto("settings")
    .values({ key: "finance", value: JSON.stringify(value) })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({ value: JSON.stringify(value), updated_at: new Date() }),
    )
    .execute();
  return value;
}
