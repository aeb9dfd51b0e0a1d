import { sql } from "kysely";
import { distributionPlan, type Placement } from "./distribution.js";
import type { DB } from "./pool.js";

/** One place where the schema in the database departs from the distribution plan. */
export interface PlanDeparture {
  /** `<table>.<constraint, unique index or missing column>`, or the bare table name. */
  id: string;
  table: string;
  rule:
    | "table not in the plan"
    | "planned table does not exist"
    | "distribution column missing"
    | "co-location group mixes column types"
    | "unique key without the distribution column"
    | "foreign key between distributed tables not co-located"
    | "foreign key from a reference table to a non-reference table"
    | "foreign key from a distributed table to a local table"
    | "foreign key from a local table to a distributed table";
  detail: string;
}

interface Column {
  table: string;
  name: string;
  num: number;
  type: string;
}

/**
 * Reads tables, columns, unique indexes and foreign keys of the current
 * schema from pg_catalog and lists every departure from the plan, by the
 * rules Citus enforces at create_distributed_table / create_reference_table.
 */
export async function checkDistributionPlan(
  db: DB,
  plan: Record<string, Placement> = distributionPlan,
): Promise<PlanDeparture[]> {
  const tables = (
    await sql<{ oid: number; name: string }>`
      select c.oid::int as oid, c.relname as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition`.execute(db)
  ).rows;
  const nameOf = new Map(tables.map((t) => [t.oid, t.name]));
  const columns = (
    await sql<Column>`
      select c.relname as table, a.attname as name, a.attnum::int as num,
             format_type(a.atttypid, a.atttypmod) as type
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped`.execute(
      db,
    )
  ).rows;
  const uniques = (
    await sql<{ table: string; name: string; keys: number[]; expressions: boolean }>`
      select t.relname as table, i.relname as name, x.indkey::int2[]::int[] as keys,
             x.indexprs is not null as expressions
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema() and x.indisunique`.execute(db)
  ).rows;
  const foreignKeys = (
    await sql<{ table: string; name: string; target: number; from: number[]; to: number[] }>`
      select t.relname as table, f.conname as name, f.confrelid::int as target,
             f.conkey::int[] as from, f.confkey::int[] as to
      from pg_constraint f join pg_class t on t.oid = f.conrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema() and f.contype = 'f'`.execute(db)
  ).rows;

  const out: PlanDeparture[] = [];
  const existing = new Set(tables.map((t) => t.name));
  for (const t of existing) {
    if (!plan[t]) {
      out.push({
        id: t,
        table: t,
        rule: "table not in the plan",
        detail: "assign it in src/db/distribution.ts",
      });
    }
  }
  for (const t of Object.keys(plan)) {
    if (!existing.has(t)) out.push({ id: t, table: t, rule: "planned table does not exist", detail: "" });
  }

  const column = (table: string, name: string) => columns.find((c) => c.table === table && c.name === name);
  /** The distribution column's number, or undefined when the table is not distributed or lacks it. */
  const distNum = new Map<string, number>();
  const groupType = new Map<string, { type: string; table: string }>();
  for (const [table, p] of Object.entries(plan)) {
    if (p.kind !== "distributed" || !existing.has(table)) continue;
    const c = column(table, p.column);
    if (!c) {
      out.push({
        id: `${table}.${p.column}`,
        table,
        rule: "distribution column missing",
        detail: `${table} has no column ${p.column} for group ${p.group}`,
      });
      continue;
    }
    distNum.set(table, c.num);
    const seen = groupType.get(p.group);
    if (!seen) groupType.set(p.group, { type: c.type, table });
    else if (seen.type !== c.type) {
      out.push({
        id: `${table}.${p.column}`,
        table,
        rule: "co-location group mixes column types",
        detail: `${table}.${p.column} is ${c.type}, ${seen.table}'s is ${seen.type}`,
      });
    }
  }

  const columnName = (table: string, num: number) =>
    columns.find((c) => c.table === table && c.num === num)?.name ?? `#${num}`;
  for (const u of uniques) {
    const d = distNum.get(u.table);
    if (d === undefined) continue; // not distributed, or already reported as missing its column
    if (!u.keys.includes(d)) {
      const cols = u.keys.map((k) => (k === 0 ? "(expression)" : columnName(u.table, k))).join(", ");
      out.push({
        id: `${u.table}.${u.name}`,
        table: u.table,
        rule: "unique key without the distribution column",
        detail: `${u.name} (${cols}) lacks ${columnName(u.table, d)}`,
      });
    }
  }

  for (const f of foreignKeys) {
    const target = nameOf.get(f.target) ?? `oid ${f.target}`;
    const from = plan[f.table];
    const to = plan[target];
    if (!from || !to) continue; // reported as unplanned
    const id = `${f.table}.${f.name}`;
    const cols = `${f.table}(${f.from.map((k) => columnName(f.table, k))}) -> ${target}(${f.to.map((k) => columnName(target, k))})`;
    if (from.kind === "reference" && to.kind !== "reference") {
      out.push({
        id,
        table: f.table,
        rule: "foreign key from a reference table to a non-reference table",
        detail: cols,
      });
    } else if (from.kind === "local" && to.kind === "distributed") {
      out.push({
        id,
        table: f.table,
        rule: "foreign key from a local table to a distributed table",
        detail: cols,
      });
    } else if (from.kind === "distributed" && to.kind === "local") {
      out.push({
        id,
        table: f.table,
        rule: "foreign key from a distributed table to a local table",
        detail: cols,
      });
    } else if (from.kind === "distributed" && to.kind === "distributed") {
      const a = distNum.get(f.table);
      const b = distNum.get(target);
      if (a === undefined || b === undefined) continue; // missing column, reported above
      // co-located: same group, and the key pairs the two distribution columns with each other
      const paired = f.from.some((k, i) => k === a && f.to[i] === b);
      if (from.group !== to.group || !paired) {
        out.push({
          id,
          table: f.table,
          rule: "foreign key between distributed tables not co-located",
          detail: cols,
        });
      }
    }
  }
  return out.sort((x, y) => x.id.localeCompare(y.id));
}
