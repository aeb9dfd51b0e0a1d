import type { InventoryPolicy, ProductKind, ProductStatus } from "../../db/schema.js";
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

const APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"];
const WAIST_SIZES = ["28", "30", "32", "34", "36", "38"];
const SHOE_SIZES = ["39", "40", "41", "42", "43", "44", "45", "46"];
const ONE_SIZE = ["One Size"];

interface Family {
  code: string;
  type: string;
  sizes: string[];
  styles: string[];
  materials: string[];
  /** Price range in cents. */
  price: [number, number];
  grams: number;
}

const FAMILIES: Family[] = [
  {
    code: "TS",
    type: "T-Shirt",
    sizes: APPAREL_SIZES,
    styles: ["Crew", "V-Neck", "Pocket", "Boxy", "Long Sleeve"],
    materials: ["Organic Cotton", "Slub Cotton", "Pima Cotton", "Linen Blend"],
    price: [1900, 3900],
    grams: 180,
  },
  {
    code: "HD",
    type: "Hoodie",
    sizes: APPAREL_SIZES,
    styles: ["Pullover", "Zip", "Heavyweight"],
    materials: ["Fleece", "Loopback Cotton", "Recycled Fleece"],
    price: [5900, 9900],
    grams: 560,
  },
  {
    code: "SW",
    type: "Sweatshirt",
    sizes: APPAREL_SIZES,
    styles: ["Crewneck", "Half-Zip", "Raglan"],
    materials: ["Loopback Cotton", "Brushed Fleece"],
    price: [4900, 7900],
    grams: 480,
  },
  {
    code: "JN",
    type: "Jeans",
    sizes: WAIST_SIZES,
    styles: ["Slim", "Straight", "Relaxed", "Tapered"],
    materials: ["Selvedge Denim", "Stretch Denim", "Rigid Denim"],
    price: [7900, 14900],
    grams: 720,
  },
  {
    code: "CH",
    type: "Chinos",
    sizes: WAIST_SIZES,
    styles: ["Slim", "Straight", "Pleated"],
    materials: ["Cotton Twill", "Stretch Twill"],
    price: [6900, 9900],
    grams: 540,
  },
  {
    code: "JK",
    type: "Jacket",
    sizes: APPAREL_SIZES,
    styles: ["Chore", "Bomber", "Trucker", "Rain", "Quilted"],
    materials: ["Waxed Cotton", "Recycled Nylon", "Canvas", "Wool Blend"],
    price: [12900, 24900],
    grams: 900,
  },
  {
    code: "SN",
    type: "Sneakers",
    sizes: SHOE_SIZES,
    styles: ["Low-Top", "High-Top", "Runner", "Court"],
    materials: ["Leather", "Canvas", "Suede", "Knit"],
    price: [8900, 15900],
    grams: 850,
  },
  {
    code: "SK",
    type: "Socks",
    sizes: ["S/M", "L/XL"],
    styles: ["Crew", "Ankle", "Hiking"],
    materials: ["Merino Wool", "Organic Cotton", "Bamboo"],
    price: [900, 1900],
    grams: 60,
  },
  {
    code: "BN",
    type: "Beanie",
    sizes: ONE_SIZE,
    styles: ["Ribbed", "Fisherman", "Cuffed"],
    materials: ["Merino Wool", "Lambswool", "Recycled Acrylic"],
    price: [2400, 3900],
    grams: 90,
  },
  {
    code: "CP",
    type: "Cap",
    sizes: ONE_SIZE,
    styles: ["Six-Panel", "Dad", "Trucker"],
    materials: ["Cotton Twill", "Corduroy", "Nylon"],
    price: [2200, 3500],
    grams: 110,
  },
  {
    code: "DR",
    type: "Dress",
    sizes: ["XS", "S", "M", "L", "XL"],
    styles: ["Wrap", "Shirt", "Slip", "Midi"],
    materials: ["Linen", "Viscose", "Cotton Poplin"],
    price: [6900, 12900],
    grams: 320,
  },
  {
    code: "PL",
    type: "Polo",
    sizes: APPAREL_SIZES,
    styles: ["Classic", "Knitted", "Long Sleeve"],
    materials: ["Pique Cotton", "Merino Wool"],
    price: [3900, 6900],
    grams: 230,
  },
  {
    code: "SH",
    type: "Shorts",
    sizes: APPAREL_SIZES,
    styles: ["Chino", "Swim", "Running", "Cargo"],
    materials: ["Cotton Twill", "Recycled Nylon", "Linen"],
    price: [3400, 5900],
    grams: 250,
  },
  {
    code: "KN",
    type: "Sweater",
    sizes: APPAREL_SIZES,
    styles: ["Crewneck", "Cardigan", "Roll-Neck", "Cable"],
    materials: ["Merino Wool", "Lambswool", "Cashmere Blend", "Cotton"],
    price: [7900, 16900],
    grams: 420,
  },
  {
    code: "SC",
    type: "Scarf",
    sizes: ONE_SIZE,
    styles: ["Ribbed", "Oversized", "Checked"],
    materials: ["Lambswool", "Merino Wool", "Cashmere Blend"],
    price: [3500, 8900],
    grams: 180,
  },
];

const COLORS: Array<[string, string]> = [
  ["Black", "BLK"],
  ["White", "WHT"],
  ["Navy", "NVY"],
  ["Heather Grey", "HGR"],
  ["Olive", "OLV"],
  ["Burgundy", "BRG"],
  ["Sand", "SND"],
  ["Forest Green", "FGN"],
  ["Sky Blue", "SKY"],
  ["Charcoal", "CHR"],
  ["Rust", "RST"],
  ["Ecru", "ECR"],
];

const COLLECTIONS = [
  "Harbor",
  "Summit",
  "Meadow",
  "Coastline",
  "Everyday",
  "Trail",
  "Northern",
  "Studio",
  "Weekend",
];

/** How much of a style's stock sits in each size: the middle sizes sell best. */
const SIZE_WEIGHT: Record<string, number> = {
  XS: 0.4,
  S: 0.8,
  M: 1.2,
  L: 1.2,
  XL: 0.8,
  XXL: 0.4,
  "28": 0.5,
  "30": 0.9,
  "32": 1.2,
  "34": 1.1,
  "36": 0.7,
  "38": 0.4,
};

/** Bundles by what goes together: one component from each slot's families. */
const BUNDLE_SETS: Array<{ name: string; slots: string[][] }> = [
  { name: "Outfit", slots: [["TS", "PL", "KN", "SW"], ["JN", "CH", "SH"], ["SN"]] },
  { name: "3-Pack", slots: [["SK", "TS"]] },
  { name: "Winter Set", slots: [["BN"], ["SC"]] },
  {
    name: "Layering Set",
    slots: [
      ["TS", "PL"],
      ["HD", "JK", "KN"],
    ],
  },
  { name: "3-Pack", slots: [["SK", "TS"]] },
];

const DIGITAL_PRODUCTS: Array<{ title: string; code: string; amounts?: number[]; price?: number }> = [
  { title: "Digital Gift Card", code: "GC", amounts: [2500, 5000, 10000, 20000] },
  { title: "Fabric Care & Repair Guide (eBook)", code: "EB-CARE", price: 900 },
  { title: "Online Styling Session (30 min)", code: "SV-STYLE", price: 2900 },
  { title: "Holiday Gift Card", code: "GCH", amounts: [5000, 10000, 15000] },
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
