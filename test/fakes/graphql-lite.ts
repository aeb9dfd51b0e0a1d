/**
 * A small GraphQL document parser for the fake Shopify: operations, variable
 * references, aliases, arguments, directives, inline fragments and selection
 * sets, which is all the documents Keel sends use. Values are resolved against
 * the request's variables as they are read. Syntax errors throw.
 */

export type Value = null | boolean | number | string | Value[] | { [k: string]: Value };

export interface Field {
  alias: string;
  name: string;
  args: Record<string, Value>;
  directives: { name: string; args: Record<string, Value> }[];
  selections: Field[] | null;
  /** set on fields that came from `... on Type { }` */
  onType?: string;
}

export interface Operation {
  kind: "query" | "mutation";
  name?: string;
  selections: Field[];
}

const TOKEN =
  /\s*(?:#[^\n]*\s*)*(\.\.\.|[{}()[\]:!$=@,]|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*"|[_A-Za-z][_0-9A-Za-z]*)/y;

export function parseOperation(doc: string, variables: Record<string, unknown> = {}): Operation {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    const rest = doc.slice(TOKEN.lastIndex);
    if (/^[\s,]*(#[^\n]*[\s,]*)*$/.test(rest)) break;
    const m = TOKEN.exec(doc);
    if (!m) throw new SyntaxError(`unexpected character at ${TOKEN.lastIndex}`);
    if (m[1] !== ",") tokens.push(m[1]);
  }
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    if (i >= tokens.length) throw new SyntaxError("unexpected end of document");
    return tokens[i++];
  };
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new SyntaxError(`expected ${t}, got ${got}`);
  };
  const name = () => {
    const t = next();
    if (!/^[_A-Za-z]/.test(t)) throw new SyntaxError(`expected a name, got ${t}`);
    return t;
  };

  const value = (): Value => {
    const t = next();
    if (t === "$") {
      const v = variables[name()];
      return v === undefined ? null : (v as Value);
    }
    if (t === "[") {
      const list: Value[] = [];
      while (peek() !== "]") list.push(value());
      next();
      return list;
    }
    if (t === "{") {
      const obj: Record<string, Value> = {};
      while (peek() !== "}") {
        const k = name();
        expect(":");
        obj[k] = value();
      }
      next();
      return obj;
    }
    if (t.startsWith('"')) return JSON.parse(t) as string;
    if (/^-?\d/.test(t)) return Number(t);
    if (t === "true" || t === "false") return t === "true";
    if (t === "null") return null;
    return t; // an enum value
  };
  const args = (): Record<string, Value> => {
    const out: Record<string, Value> = {};
    if (peek() !== "(") return out;
    next();
    while (peek() !== ")") {
      const k = name();
      expect(":");
      out[k] = value();
    }
    next();
    return out;
  };
  const directives = () => {
    const out: Field["directives"] = [];
    while (peek() === "@") {
      next();
      out.push({ name: name(), args: args() });
    }
    return out;
  };
  const selectionSet = (onType?: string): Field[] => {
    expect("{");
    const fields: Field[] = [];
    while (peek() !== "}") {
      if (peek() === "...") {
        next();
        expect("on");
        const type = name();
        for (const f of selectionSet(type)) fields.push(f);
        continue;
      }
      const first = name();
      const alias = first;
      let fieldName = first;
      if (peek() === ":") {
        next();
        fieldName = name();
      }
      const a = args();
      const d = directives();
      const sel = peek() === "{" ? selectionSet() : null;
      fields.push({ alias, name: fieldName, args: a, directives: d, selections: sel, onType });
    }
    next();
    return fields;
  };

  let kind: Operation["kind"] = "query";
  let opName: string | undefined;
  if (peek() === "query" || peek() === "mutation") {
    kind = next() as Operation["kind"];
    if (peek() !== "(" && peek() !== "{" && peek() !== "@") opName = name();
    if (peek() === "(") {
      // variable definitions: ($a: Type!, $b: [ID!]! = default) — types are not checked here
      let depth = 0;
      do {
        const t = next();
        if (t === "(") depth++;
        if (t === ")") depth--;
      } while (depth > 0);
    }
    directives();
  }
  const selections = selectionSet();
  if (i !== tokens.length) throw new SyntaxError("only one operation per document is supported");
  return { kind, name: opName, selections };
}
