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
