import type { FieldError } from "../http/errors.js";
import { ValidationFailed } from "../http/errors.js";

/**
 * The catalog's rules that need no database: option names and values, SKU
 * uniqueness within a request, bundle components, digital products. Used by
 * the request schema on create (a 400) and by the service on update, where
 * the product's stored state joins in (a 422).
 */

export type Path = (string | number)[];

export interface Issue {
  path: Path;
  message: string;
}

export interface VariantShape {
  path: Path;
  sku: string;
  options: Record<string, string>;
  inventory_policy?: string | null;
  low_stock_threshold?: number | null;
}

export interface ProductShape {
  kind: string;
  options: string[];
  variants: VariantShape[];
  /** undefined: none given */
  components?: { sku: string; path: Path }[];
}

export function productInputIssues(p: ProductShape): Issue[] {
  return [
    ...optionNameIssues(p.options),
    ...variantIssues(p.kind, p.options, p.variants),
    ...componentShapeIssues(p.kind, p.components, p.variants),
  ];
}

function optionNameIssues(options: string[]): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  options.forEach((name, i) => {
    const key = name.toLowerCase();
    if (seen.has(key)) issues.push({ path: ["options", i], message: `duplicate option ${name}` });
    seen.add(key);
  });
  return issues;
}

/**
 * Each variant names a value for every option of its product and nothing
 * else, no two variants have the same values, no two the same SKU. The later
 * of two clashing variants is the one reported.
 */
export function variantIssues(kind: string, options: string[], variants: VariantShape[]): Issue[] {
  const issues: Issue[] = [];
  const skus = new Set<string>();
  const combos = new Map<string, string>();
  const known = new Set(options);
  for (const v of variants) {
    if (skus.has(v.sku)) issues.push({ path: [...v.path, "sku"], message: `duplicate SKU ${v.sku}` });
    skus.add(v.sku);

    let complete = true;
    for (const key of Object.keys(v.options)) {
      if (!known.has(key)) {
        complete = false;
        issues.push({
          path: [...v.path, "options", key],
          message: options.length
            ? `${key} is not an option of this product (options: ${options.join(", ")})`
            : `${key} is not an option of this product, which has no options`,
        });
      }
    }
    const missing = options.filter((o) => v.options[o] === undefined);
    if (missing.length) {
      complete = false;
      issues.push({ path: [...v.path, "options"], message: `missing a value for ${missing.join(", ")}` });
    }
    if (complete) {
      const combo = JSON.stringify(options.map((o) => v.options[o]));
      const clash = combos.get(combo);
      if (clash !== undefined) {
        issues.push({
          path: [...v.path, "options"],
          message: options.length
            ? `same option values as SKU ${clash}`
            : `a product without options has one variant (SKU ${clash}); declare options to tell variants apart`,
        });
      } else combos.set(combo, v.sku);
    }

    if (kind === "digital") {
      if (v.low_stock_threshold != null) {
        issues.push({
          path: [...v.path, "low_stock_threshold"],
          message: "digital products are not stock-tracked",
        });
      }
      if (v.inventory_policy != null && v.inventory_policy !== "deny") {
        issues.push({
          path: [...v.path, "inventory_policy"],
          message: "digital products are not stock-tracked, so they have no backorder or preorder policy",
        });
      }
    }
  }
  return issues;
}

/** Bundles have 1..50 distinct components that are not the bundle's own variants; other kinds none. */
export function componentShapeIssues(
  kind: string,
  components: { sku: string; path: Path }[] | undefined,
  variants: { sku: string }[],
): Issue[] {
  if (kind !== "bundle") {
    return components === undefined
      ? []
      : [{ path: ["components"], message: `only bundles have components; this product is ${kind}` }];
  }
  if (components === undefined || components.length === 0) {
    return [{ path: ["components"], message: "a bundle needs at least one component" }];
  }
  const issues: Issue[] = [];
  const own = new Set(variants.map((v) => v.sku));
  const seen = new Set<string>();
  for (const c of components) {
    if (seen.has(c.sku)) issues.push({ path: [...c.path, "sku"], message: `duplicate component ${c.sku}` });
    else if (own.has(c.sku)) {
      issues.push({ path: [...c.path, "sku"], message: `a bundle cannot contain its own variant ${c.sku}` });
    }
    seen.add(c.sku);
  }
  return issues;
}

/** Issues as field errors of the request body. */
export function toFieldErrors(issues: Issue[]): FieldError[] {
  return issues.map((i) => ({ path: ["body", ...i.path].join("."), message: i.message }));
}

/** Throws a 422 when there are issues. */
export function rejectIssues(issues: Issue[]): void {
  if (issues.length) throw new ValidationFailed(toFieldErrors(issues));
}
