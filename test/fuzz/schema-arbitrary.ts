import fc from "fast-check";

/**
 * fast-check arbitraries from the JSON Schemas of /openapi.json: `valid` yields
 * values the schema accepts (the subset zod emits: objects, arrays, strings with
 * lengths, patterns, enums and formats, integers and numbers with bounds,
 * booleans, anyOf), `invalid` values it should refuse.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  $ref?: string;
  default?: unknown;
};

export type Resolve = (ref: string) => JsonSchema;

/** Strings the shop's own data uses, so that generated keys sometimes name something that exists. */
export interface Known {
  strings: string[];
}

const FORMATS: Record<string, fc.Arbitrary<string>> = {
  "date-time": fc
    .date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
    .map((d) => d.toISOString()),
  date: fc
    .date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  email: fc.emailAddress(),
  uri: fc.webUrl(),
  url: fc.webUrl(),
  uuid: fc.uuid(),
};

function stringArb(s: JsonSchema, known: Known): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 40, 80);
  if (s.format && FORMATS[s.format]) return FORMATS[s.format];
  let base: fc.Arbitrary<string>;
  if (s.pattern) base = fc.stringMatching(new RegExp(s.pattern));
  else base = fc.string({ minLength: min, maxLength: Math.max(min, max) });
  const fits = (v: string) =>
    v.length >= min &&
    v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY) &&
    (!s.pattern || new RegExp(s.pattern).test(v));
  const knownFitting = known.strings.filter(fits);
  const arb = knownFitting.length > 0 ? fc.oneof(base, fc.constantFrom(...knownFitting)) : base;
  return arb.filter(fits);
}

function numberArb(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  let min =
    s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : 1e-6) : -1e6);
  let max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : 1e-6) : 1e6);
  min = Math.max(min, -1e12);
  max = Math.min(max, 1e12);
  if (integer)
    return fc.oneof(
      fc.integer({ min, max }),
      fc.constantFrom(min, max),
      fc.integer({ min, max: Math.min(max, min + 100) }),
    );
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

/** A value the schema accepts. */
export function valid(schema: JsonSchema, resolve: Resolve, known: Known, depth = 0): fc.Arbitrary<unknown> {
  const s = schema.$ref ? resolve(schema.$ref) : schema;
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((a) => valid(a, resolve, known, depth + 1)));
  if (s.allOf && s.allOf.length === 1) return valid(s.allOf[0], resolve, known, depth + 1);
  const type = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (type.length > 1)
    return fc.oneof(...type.map((t) => valid({ ...s, type: t }, resolve, known, depth + 1)));
  switch (type[0]) {
    case "string":
      return stringArb(s, known);
    case "integer":
      return numberArb(s, true);
    case "number":
      return numberArb(s, false);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const minLength = s.minItems ?? 0;
      const maxLength = Math.min(s.maxItems ?? 4, depth > 2 ? minLength : 4);
      return fc.array(valid(s.items ?? {}, resolve, known, depth + 1), {
        minLength,
        maxLength: Math.max(minLength, maxLength),
      });
    }
    case "object": {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, p] of Object.entries(props)) record[name] = valid(p, resolve, known, depth + 1);
      const requiredKeys = Object.keys(props).filter((k) => required.has(k));
      if (Object.keys(props).length === 0 && typeof s.additionalProperties === "object")
        return fc.dictionary(
          s.propertyNames ? stringArb(s.propertyNames, known) : fc.string({ minLength: 1, maxLength: 10 }),
          valid(s.additionalProperties, resolve, known, depth + 1),
          { maxKeys: 3 },
        );
      return fc.record(record, { requiredKeys });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A value the schema refuses (for schemas that refuse anything): wrong type, out of range, missing field. */
export function invalid(
  schema: JsonSchema,
  resolve: Resolve,
  known: Known,
): fc.Arbitrary<unknown> | undefined {
  const s = schema.$ref ? resolve(schema.$ref) : schema;
  const type = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (type.length !== 1 || s.anyOf || s.oneOf) return undefined;
  switch (type[0]) {
    case "object": {
      const props = Object.entries(s.properties ?? {});
      const options: fc.Arbitrary<unknown>[] = [fc.constantFrom("not an object", 42, [1, 2], true)];
      const required = s.required ?? [];
      if (required.length > 0)
        options.push(
          fc
            .tuple(valid(s, resolve, known), fc.constantFrom(...required))
            .map(([v, drop]) => Object.fromEntries(Object.entries(v as object).filter(([k]) => k !== drop))),
        );
      for (const [name, p] of props) {
        const bad = invalid(p, resolve, known);
        if (bad)
          options.push(
            fc.tuple(valid(s, resolve, known), bad).map(([v, b]) => ({ ...(v as object), [name]: b })),
          );
      }
      if (s.additionalProperties === false)
        options.push(valid(s, resolve, known).map((v) => ({ ...(v as object), "unexpected field": 1 })));
      return fc.oneof(...options);
    }
    case "string": {
      const options: fc.Arbitrary<unknown>[] = [fc.constantFrom(12, true, null, { a: 1 })];
      if (s.maxLength !== undefined) options.push(fc.constant("x".repeat(s.maxLength + 1)));
      if (s.enum) options.push(fc.constant("certainly-not-an-enum-value"));
      return fc.oneof(...options);
    }
    case "integer":
    case "number": {
      const options: fc.Arbitrary<unknown>[] = [fc.constantFrom("12", "NaN", null, 1e300)];
      if (type[0] === "integer") options.push(fc.constant(1.5));
      if (s.maximum !== undefined) options.push(fc.constant(s.maximum + 1));
      if (s.minimum !== undefined) options.push(fc.constant(s.minimum - 1));
      return fc.oneof(...options);
    }
    case "boolean":
      return fc.constantFrom("yes", 1, null);
    case "array": {
      const options: fc.Arbitrary<unknown>[] = [fc.constantFrom("not an array", { a: 1 })];
      if (s.maxItems !== undefined && s.maxItems < 50)
        options.push(
          fc.array(valid(s.items ?? {}, resolve, known), {
            minLength: s.maxItems + 1,
            maxLength: s.maxItems + 1,
          }),
        );
      if ((s.minItems ?? 0) > 0) options.push(fc.constant([]));
      return fc.oneof(...options);
    }
    default:
      return undefined;
  }
}
