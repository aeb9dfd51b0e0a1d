import { stringify } from "csv-stringify/sync";
import "../db/schema-reports.js";
import type { FastifyReply } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import type { DB } from "../db/pool.js";
import { ValidationFailed } from "../http/errors.js";

/**
 * What every report answers (API.md "Reports and alerts"): its rows, as of
 * when, and whether they were computed from a read model kept by a rollup or
 * live from the tables; every row carries `drill`, the list query behind it.
 */
export interface Report<Row extends { drill: string }> {
  data: Row[];
  computed_at: string;
  source: "live" | "rollup";
}

export function report<Row extends { drill: string }>(
  data: Row[],
  source: "live" | "rollup",
  computedAt = new Date(),
): Report<Row> {
  return { data, computed_at: computedAt.toISOString(), source };
}

/** The list query behind a row: a path with its query string (undefined and null parameters left out). */
export function drill(path: string, params: Record<string, string | number | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** `?format=json|csv`, accepted by every report. */
export const format = { format: z.enum(["json", "csv"]).default("json") };

/**
 * Sends a report as JSON, or with `?format=csv` as CSV with one column per
 * field of the rows (nested values as JSON), plus `computed_at` and `source`
 * on every row so a spreadsheet keeps them. Reports are bounded (a ranking
 * has a limit, the others one row per status, SKU or supplier), so the CSV is
 * written at once.
 */
export function send<Row extends { drill: string }>(
  reply: FastifyReply,
  name: string,
  fmt: "json" | "csv",
  answer: Report<Row>,
) {
  if (fmt === "json") return reply.send(answer);
  const keys = new Set<string>();
  for (const row of answer.data) for (const k of Object.keys(row)) keys.add(k);
  const columns = [...keys, "computed_at", "source"];
  const body = stringify(
    answer.data.map((r) => ({ ...r, computed_at: answer.computed_at, source: answer.source })),
    {
      header: true,
      columns: columns.map((c) => ({ key: c, header: c })),
      cast: {
        boolean: (v) => (v ? "TRUE" : "FALSE"),
        date: (v) => v.toISOString(),
        object: (v) => JSON.stringify(v),
      },
    },
  );
  return reply
    .type("text/csv; charset=utf-8")
    .header("content-disposition", `attachment; filename="${name}.csv"`)
    .send(body || `${columns.join(",")}\n`);
}

const instant = z.iso.datetime({ offset: true }).or(z.iso.date());

/** `from` (inclusive) and `to` (exclusive): instants or UTC dates. */
export const periodQuery = { from: instant.optional(), to: instant.optional() };

export interface Period {
  from: Date;
  to: Date;
}

const DAY = 86_400_000;
/** Longest period a report covers: about five years. */
export const MAX_PERIOD_DAYS = 5 * 366;

/**
 * The period of a report: `to` defaults to now, `from` to `defaultDays`
 * before `to`. A `from` after `to` or a period over ~5 years is a 400 that
 * says so.
 */
export function period(q: { from?: string; to?: string }, defaultDays = 30, now = new Date()): Period {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaultDays * DAY);
  if (from.getTime() > to.getTime()) {
    throw new ValidationFailed([{ path: "query.from", message: "from is after to" }], 400);
  }
  if (to.getTime() - from.getTime() > MAX_PERIOD_DAYS * DAY) {
    throw new ValidationFailed(
      [{ path: "query.from", message: `a period covers at most ${MAX_PERIOD_DAYS} days (about five years)` }],
      400,
    );
  }
  return { from, to };
}

export const LocationCode = z.string().trim().min(1).max(64);
export const ChannelCode = z.string().trim().min(1).max(64);

/** A location's id by its code; an unknown code is a 422 naming the parameter. */
export async function locationId(db: DB, code: string, path = "query.location"): Promise<number> {
  const row = await db.selectFrom("locations").select("id").where("code", "=", code).executeTakeFirst();
  if (!row) throw new ValidationFailed([{ path, message: `no location ${JSON.stringify(code)}` }]);
  return row.id;
}

export async function channelId(db: DB, code: string, path = "query.channel"): Promise<number> {
  const row = await db.selectFrom("channels").select("id").where("code", "=", code).executeTakeFirst();
  if (!row) throw new ValidationFailed([{ path, message: `no channel ${JSON.stringify(code)}` }]);
  return row.id;
}

/** a / b rounded to 4 places; null when b is 0 (no rate over nothing). */
export function rate(a: number, b: number): number | null {
  return b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null;
}

export const hoursSince = (t: Date | null, now: Date) =>
  t ? Math.round(((now.getTime() - t.getTime()) / 3_600_000) * 100) / 100 : null;

/** The database's clock, so ages agree with timestamps the database wrote. */
export async function dbNow(db: DB): Promise<Date> {
  const r = await sql<{ now: Date }>`select now() as now`.execute(db);
  return r.rows[0].now;
}

/** The UTC days a period touches, as [fromDay, toDay) for date columns: a period ending mid-day includes that day. */
export function days(p: Period): { from: string; to: string } {
  const last = new Date(p.to.getTime() - 1);
  const to =
    p.to.getTime() > p.from.getTime()
      ? new Date(Date.UTC(last.getUTCFullYear(), last.getUTCMonth(), last.getUTCDate() + 1))
      : p.to;
  return { from: ymd(p.from), to: ymd(to) };
}

export const iso = (d: Date | null) => (d ? d.toISOString() : null);
export const ymd = (d: Date | string) =>
  typeof d === "string" ? d.slice(0, 10) : d.toISOString().slice(0, 10);
