import type { InventoryPolicy, ProductKind, ProductStatus } from "../../db/schema.js";
import { BUNDLE_SETS, COLLECTIONS, COLORS, DIGITAL_PRODUCTS, FAMILIES, SIZE_WEIGHT } from "./assortment.js";
import { demoGtin13 } from "./gtin.js";
import { Random } from "./random.js";

/**
 * The demo shop, as plain data: an apparel brand selling from two warehouses
 * and one retail store. Pure and deterministic: the same `skus` and `seed`
 * give the same shop, so bug reports against demo data can be reproduced.
 */
export interface DemoShop {
  locations: DemoLocation[];
  products: DemoProduct[];
}

export interface DemoLocation {
  code: string;
  name: string;
  kind: "warehouse" | "store" | "3pl";
  priority: number;
  country: string;
}

export interface DemoProduct {
  handle: string;
  title: string;
  kind: ProductKind;
  status: ProductStatus;
  description: string;
  options: string[];
  variants: DemoVariant[];
  /** Bundles only: what one bundle consists of, by component SKU. */
  components: Array<{ sku: string; quantity: number }>;
}

export interface DemoVariant {
  sku: string;
  title: string | null;
  options: Record<string, string>;
  price: number;
  cost: number | null;
  barcode: string | null;
  weightGrams: number | null;
  inventoryPolicy: InventoryPolicy;
  lowStockThreshold: number | null;
  /** Opening balances per location; only physical variants have any. */
  stock: DemoStock[];
}

export interface DemoStock {
  location: string;
  onHand: number;
  safetyStock: number;
  quarantine: number;
  damaged: number;
}

export const DEMO_CURRENCY = "USD";
export const DEFAULT_SEED = 20261122;

export const DEMO_LOCATIONS: DemoLocation[] = [
  { code: "WH-EAST", name: "East Coast Warehouse (Newark)", kind: "warehouse", priority: 1, country: "US" },
  { code: "WH-WEST", name: "West Coast Warehouse (Reno)", kind: "warehouse", priority: 2, country: "US" },
  { code: "STORE-1", name: "Flagship Store (Brooklyn)", kind: "store", priority: 10, country: "US" },
];

/** Builds the demo shop with exactly `skus` SKUs: ~97% apparel, ~2% bundles, ~1% digital goods. */
export function demoShop(skus: number, seed = DEFAULT_SEED): DemoShop {
  if (!Number.isInteger(skus) || skus < 10) throw new Error("the demo shop needs at least 10 SKUs");
  const rnd = new Random(seed);
  const digitalTarget = Math.max(1, Math.round(skus * 0.01));
  const bundleTarget = Math.max(1, Math.round(skus * 0.02));
  const physicalTarget = skus - digitalTarget - bundleTarget;

  const products: DemoProduct[] = [];
  let gtins = 0;
  const nextGtin = () => demoGtin13(++gtins);

  // Apparel: one product per style and material, a variant per colour and size.
  const styleNumbers = new Map<string, number>();
  let physical = 0;
  while (physical < physicalTarget) {
    const family = FAMILIES[products.length % FAMILIES.length];
    const number = (styleNumbers.get(family.code) ?? 1000) + 1;
    styleNumbers.set(family.code, number);
    const style = rnd.pick(family.styles);
    const material = rnd.pick(family.materials);
    const collection = rnd.pick(COLLECTIONS);
    const styleCode = `${family.code}-${number}`;
    const title = `${material} ${style} ${family.type}`;
    const colors = rnd.sample(COLORS, rnd.int(1, 4));
    const oneSize = family.sizes.length === 1;
    const roll = rnd.next();
    const status: ProductStatus = roll < 0.04 ? "draft" : roll < 0.07 ? "archived" : "active";
    const policyRoll = rnd.next();
    const inventoryPolicy: InventoryPolicy =
      policyRoll < 0.85 ? "deny" : policyRoll < 0.95 ? "backorder" : "preorder";
    const lowStockThreshold = rnd.chance(0.1) ? null : rnd.pick([3, 5, 5, 10]);
    const price = roundPrice(rnd.int(family.price[0], family.price[1]));
    const costShare = 0.3 + rnd.next() * 0.15;
    // A style's demand decides how deep its stock runs; a few are bestsellers.
    const demand = rnd.chance(0.1) ? 3 + rnd.next() * 3 : 0.3 + rnd.next() * 1.5;

    const variants: DemoVariant[] = [];
    for (const [color, colorCode] of colors) {
      for (const size of family.sizes) {
        if (physical + variants.length >= physicalTarget) break;
        const sizeCode = size === "One Size" ? "OS" : size.replace("/", "");
        const sku = oneSize ? `${styleCode}-${colorCode}` : `${styleCode}-${colorCode}-${sizeCode}`;
        const variantPrice = size === "XXL" ? price + 200 : price;
        variants.push({
          sku,
          title: oneSize ? color : `${color} / ${size}`,
          options: oneSize ? { Color: color } : { Color: color, Size: size },
          price: variantPrice,
          cost: Math.round(variantPrice * costShare),
          barcode: nextGtin(),
          weightGrams: Math.round(family.grams * (0.9 + rnd.next() * 0.2)),
          inventoryPolicy,
          lowStockThreshold,
          stock: physicalStock(rnd, {
            weight: demand * (SIZE_WEIGHT[size] ?? 1),
            status,
            inventoryPolicy,
            lowStockThreshold: lowStockThreshold ?? 5,
          }),
        });
      }
    }
    physical += variants.length;
    products.push({
      handle: slug(`${title}-${styleCode}`),
      title,
      kind: "physical",
      status,
      description: `${material} ${family.type.toLowerCase()} in a ${style.toLowerCase()} cut, from the ${collection} collection.`,
      options: oneSize ? ["Color"] : ["Color", "Size"],
      variants,
      components: [],
    });
  }

  // Bundles: sets of active, stocked apparel; no stock of their own.
  const sellable = products
    .filter((p) => p.kind === "physical" && p.status === "active")
    .flatMap((p) => p.variants.map((v) => ({ product: p, variant: v })))
    .filter((x) => x.variant.inventoryPolicy === "deny");
  const pool =
    sellable.length > 0
      ? sellable
      : products.flatMap((p) => p.variants.map((v) => ({ product: p, variant: v })));
  const byFamily = new Map<string, typeof pool>();
  for (const x of pool) {
    const code = x.variant.sku.slice(0, 2);
    const list = byFamily.get(code);
    if (list) list.push(x);
    else byFamily.set(code, [x]);
  }
  const pickFrom = (codes: string[]) => {
    const candidates = codes.flatMap((c) => byFamily.get(c) ?? []);
    return rnd.pick(candidates.length > 0 ? candidates : pool);
  };
  for (let i = 1; i <= bundleTarget; i++) {
    const set = BUNDLE_SETS[i % BUNDLE_SETS.length];
    let title: string;
    let components: Array<{ sku: string; quantity: number; price: number }>;
    if (set.name === "3-Pack") {
      const pick = pickFrom(set.slots[0]);
      title = `3-Pack ${pick.product.title} (${pick.variant.title ?? pick.variant.sku})`;
      components = [{ sku: pick.variant.sku, quantity: 3, price: pick.variant.price }];
    } else {
      const picks = new Map(set.slots.map((codes) => pickFrom(codes)).map((p) => [p.variant.sku, p]));
      title = `${rnd.pick(COLLECTIONS)} ${set.name} No. ${i}`;
      components = [...picks.values()].map((p) => ({
        sku: p.variant.sku,
        quantity: 1,
        price: p.variant.price,
      }));
    }
    const full = components.reduce((sum, c) => sum + c.price * c.quantity, 0);
    const sku = `BND-${1000 + i}`;
    products.push({
      handle: slug(`${title}-${sku}`),
      title,
      kind: "bundle",
      status: "active",
      description: `A set at a set price: ${components.map((c) => `${c.quantity} × ${c.sku}`).join(", ")}.`,
      options: [],
      variants: [
        {
          sku,
          title: null,
          options: {},
          price: roundPrice(full * 0.85),
          cost: null,
          barcode: nextGtin(),
          weightGrams: null,
          inventoryPolicy: "deny",
          lowStockThreshold: null,
          stock: [],
        },
      ],
      components: components.map(({ sku, quantity }) => ({ sku, quantity })),
    });
  }

  // Digital goods: gift cards and services, not stock-tracked, no barcode.
  let digital = 0;
  for (let round = 1; digital < digitalTarget; round++) {
    for (const template of DIGITAL_PRODUCTS) {
      if (digital >= digitalTarget) break;
      if (round > 1 && !template.amounts) continue; // more gift card designs, not more of the same guide
      const suffix = round === 1 ? "" : ` — Design ${round}`;
      const base = round === 1 ? template.code : `${template.code}-D${round}`;
      const amounts = template.amounts ?? [template.price ?? 1000];
      const variants: DemoVariant[] = [];
      for (const amount of amounts) {
        if (digital + variants.length >= digitalTarget) break;
        variants.push({
          sku: template.amounts ? `${base}-${amount / 100}` : base,
          title: template.amounts ? `$${amount / 100}` : null,
          options: template.amounts ? { Amount: `$${amount / 100}` } : {},
          price: amount,
          cost: null,
          barcode: null,
          weightGrams: null,
          inventoryPolicy: "deny",
          lowStockThreshold: null,
          stock: [],
        });
      }
      digital += variants.length;
      products.push({
        handle: slug(`${template.title}${suffix}-${base}`),
        title: `${template.title}${suffix}`,
        kind: "digital",
        status: "active",
        description: template.amounts
          ? "Delivered by email, redeemable online and in store."
          : "Delivered digitally after purchase.",
        options: template.amounts ? ["Amount"] : [],
        variants,
        components: [],
      });
    }
  }

  return { locations: DEMO_LOCATIONS, products };
}

/**
 * Opening balances of one variant at each location: most have stock, some
 * none, some run low; a few units sit in quality control or are damaged;
 * bestsellers keep safety stock at the main warehouse.
 */
function physicalStock(
  rnd: Random,
  v: { weight: number; status: ProductStatus; inventoryPolicy: InventoryPolicy; lowStockThreshold: number },
): DemoStock[] {
  const stock: DemoStock[] = [];
  for (const location of DEMO_LOCATIONS) {
    const isStore = location.kind === "store";
    if (location.code === "WH-WEST" && rnd.chance(0.15)) continue; // not carried there
    if (isStore && (v.status !== "active" || rnd.chance(0.5))) continue;
    let onHand: number;
    const roll = rnd.next();
    if (v.inventoryPolicy === "preorder" || v.status === "draft")
      onHand = 0; // not released yet
    else if (v.status === "archived")
      onHand = roll < 0.7 ? 0 : rnd.int(1, 4); // selling off the rest
    else if (roll < 0.12)
      onHand = 0; // sold out here
    else if (roll < 0.25)
      onHand = rnd.int(1, v.lowStockThreshold); // running low
    else {
      const depth = isStore ? 12 : location.priority === 1 ? 120 : 60;
      onHand = Math.max(1, Math.round(depth * v.weight * (0.5 + rnd.next())));
    }
    const safetyStock = location.priority === 1 && v.weight > 2 && onHand > 10 ? rnd.int(2, 6) : 0;
    const quarantine = !isStore && rnd.chance(0.03) ? rnd.int(1, 6) : 0;
    const damaged = rnd.chance(0.03) ? rnd.int(1, 4) : 0;
    stock.push({ location: location.code, onHand, safetyStock, quarantine, damaged });
  }
  return stock;
}

/** Shelf prices: whole dollars less a cent ($24.99), never below $0.99. */
function roundPrice(cents: number): number {
  return Math.max(100, Math.round(cents / 100) * 100 - 1);
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/&/g, "and")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 200);
}
