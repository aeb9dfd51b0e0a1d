/**
 * The demo shop's assortment: product families with their sizes, styles,
 * materials, price ranges and weights; colours; collection names; how stock
 * spreads over sizes; which families make up bundles; the digital goods.
 * catalog.ts builds the shop from these.
 */

const APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"];
const WAIST_SIZES = ["28", "30", "32", "34", "36", "38"];
const SHOE_SIZES = ["39", "40", "41", "42", "43", "44", "45", "46"];
const ONE_SIZE = ["One Size"];

export interface Family {
  code: string;
  type: string;
  sizes: string[];
  styles: string[];
  materials: string[];
  /** Price range in cents. */
  price: [number, number];
  grams: number;
}

export const FAMILIES: Family[] = [
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

export const COLORS: Array<[string, string]> = [
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

export const COLLECTIONS = [
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
export const SIZE_WEIGHT: Record<string, number> = {
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
export const BUNDLE_SETS: Array<{ name: string; slots: string[][] }> = [
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

export const DIGITAL_PRODUCTS: Array<{ title: string; code: string; amounts?: number[]; price?: number }> = [
  { title: "Digital Gift Card", code: "GC", amounts: [2500, 5000, 10000, 20000] },
  { title: "Fabric Care & Repair Guide (eBook)", code: "EB-CARE", price: 900 },
  { title: "Online Styling Session (30 min)", code: "SV-STYLE", price: 2900 },
  { title: "Holiday Gift Card", code: "GCH", amounts: [5000, 10000, 15000] },
];
