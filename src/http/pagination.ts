import { z } from "zod";
import { ValidationFailed } from "./errors.js";

/** `?limit=&cursor=` as API.md's Conventions describe. The cursor is opaque to clients. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
};

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (check(value)) return value;
  } catch {
    // fall through
  }
  throw new ValidationFailed([{ path: "query.cursor", message: "not a cursor this list handed out" }], 400);
}

export const isId = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Takes `limit + 1` rows and turns them into a page with the next cursor. */
export function page<T>(rows: T[], limit: number, cursorOf: (last: T) => unknown) {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, next_cursor: more ? encodeCursor(cursorOf(data[data.length - 1])) : null };
}
