import { Readable } from "node:stream";
import { stringify } from "csv-stringify";

/**
 * A CSV download that never holds the table in memory: `page` is called with
 * the last row of the previous page (undefined first) and returns the next
 * rows in key order (keyset pagination on an index), until it returns fewer
 * than `pageSize`. csv-stringify applies backpressure, so a slow client slows
 * the reads instead of filling memory.
 */
export function csvStream<Row extends Record<string, unknown>>(
  /** Header names, which are also the keys of the (formatted) rows. */
  columns: readonly string[],
  page: (after: Row | undefined, pageSize: number) => Promise<Row[]>,
  pageSize = 5_000,
  format?: (row: Row) => Record<string, unknown>,
): Readable {
  async function* rows() {
    let after: Row | undefined;
    for (;;) {
      const batch = await page(after, pageSize);
      for (const row of batch) yield format ? format(row) : row;
      if (batch.length < pageSize) return;
      after = batch[batch.length - 1];
    }
  }
  return Readable.from(rows()).pipe(
    stringify({
      header: true,
      columns: columns.map((c) => ({ key: c, header: c })),
      cast: {
        boolean: (v) => (v ? "TRUE" : "FALSE"),
        date: (v) => v.toISOString(),
        object: (v) => JSON.stringify(v),
      },
    }),
  );
}

/** Minor units as the decimal a spreadsheet shows ("1999" EUR → "19.99", JPY stays whole). */
export function decimalAmount(minor: number | null, currency: string): string {
  if (minor === null) return "";
  const digits =
    new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return (minor / 10 ** digits).toFixed(digits);
}
