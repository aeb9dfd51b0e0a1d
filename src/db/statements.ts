import { type RawBuilder, sql } from "kysely";
import type { Tx } from "./tx.js";

/**
 * Several data-modifying statements as one, each a CTE of `with … select 1`,
 * so they cost one round trip. They see the same snapshot and none may touch
 * a row another one changes; an error in any undoes them all.
 */
export function asOne(statements: RawBuilder<unknown>[]): RawBuilder<unknown> {
  if (statements.length === 1) return statements[0];
  return sql`with ${sql.join(
    statements.map((s, i) => sql`${sql.raw(`s${i}`)} as (${s})`),
    sql`, `,
  )} select 1`;
}

/** The CTEs to add to an existing `with` list: `, also_0 as (…), also_1 as (…)`. */
export function alsoCtes(statements: RawBuilder<unknown>[]): RawBuilder<unknown> {
  return sql.join(
    statements.map((s, i) => sql`, ${sql.raw(`also_${i}`)} as (${s})`),
    sql``,
  );
}

export async function runAsOne(tx: Tx, statements: RawBuilder<unknown>[]): Promise<void> {
  if (statements.length) await asOne(statements).execute(tx);
}

/**
 * A jsonb[] parameter (null for a null or undefined value) sent as one JSON
 * document: pg writes an array parameter as an array literal, escaping every
 * quote of every element, and PostgreSQL unescapes it again before parsing
 * each element as JSON; one document is parsed once and escaped never
 * (placing orders in batches of 20: Node 3–9 % and PostgreSQL 2–4 % less CPU
 * per order, measured in-process with runs interleaved).
 */
export function jsonbArray(values: unknown[]): RawBuilder<unknown> {
  return sql`(select coalesce(array_agg(nullif(x.e, 'null') order by x.k), '{}')
    from jsonb_array_elements(${JSON.stringify(values)}::jsonb) with ordinality as x(e, k))`;
}
