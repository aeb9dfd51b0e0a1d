import type { Readable, Writable } from "node:stream";

/**
 * Keel's logical backup file: gzip around a sequence of frames, each a JSON
 * header line optionally followed by raw bytes:
 *
 *   KEEL-BACKUP 1\n
 *   {"manifest": {...}}\n                        what was dumped and from which schema
 *   {"table": "orders", "columns": [...]}\n      then the table's rows as COPY csv,
 *   {"chunk": 65536}\n<65536 bytes>              in chunks of any size
 *   {"rows": 1234}\n                             end of the table
 *   …
 *   {"sequences": {"order_numbers": {...}}}\n   every sequence's position
 *   {"end": {"tables": {"orders": 1234, …}}}\n   the row counts, checked on restore
 *
 * Length-prefixed chunks mean table data never has to be escaped or held in
 * memory, and a truncated file is recognised (no `end` frame).
 */
export const MAGIC = "KEEL-BACKUP 1";

export interface Manifest {
  format: "keel-logical";
  created_at: string;
  /** The moment of the snapshot every table was read in. */
  snapshot_at: string;
  server_version: string;
  keel_version: string;
  /** The migrations applied to the dumped database, in order: the schema the rows fit. */
  migrations: string[];
}

export type Frame =
  | { manifest: Manifest }
  | { table: string; columns: string[] }
  | { chunk: number }
  | { rows: number }
  | { sequences: Record<string, { last_value: number; is_called: boolean }> }
  | { end: { tables: Record<string, number> } };

export class FrameWriter {
  constructor(private readonly out: Writable) {}

  async header(frame: Frame): Promise<void> {
    await this.write(Buffer.from(`${JSON.stringify(frame)}\n`));
  }

  async chunk(data: Buffer): Promise<void> {
    await this.header({ chunk: data.length });
    await this.write(data);
  }

  async magic(): Promise<void> {
    await this.write(Buffer.from(`${MAGIC}\n`));
  }

  /** A line of its own (another format's magic). */
  async raw(text: string): Promise<void> {
    await this.write(Buffer.from(text));
  }

  private write(b: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const ok = this.out.write(b, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else this.out.once("drain", resolve);
    });
  }
}

/** Reads lines and byte runs from a stream, in order. */
export class FrameReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(input: Readable) {
    this.it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.it.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.buffered.push(next.value);
    this.length += next.value.length;
    return true;
  }

  private take(n: number): Buffer {
    const all = Buffer.concat(this.buffered);
    this.buffered = n < all.length ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }

  /** The next line without its newline; null at the end of the stream. */
  async line(): Promise<string | null> {
    for (;;) {
      const joined = Buffer.concat(this.buffered);
      this.buffered = joined.length ? [joined] : [];
      const nl = joined.indexOf(10);
      if (nl >= 0) return this.take(nl + 1).toString("utf8", 0, nl);
      if (joined.length > 1 << 20) throw new Error("not a Keel backup: a header line longer than 1 MiB");
      if (!(await this.fill())) {
        if (this.length === 0) return null;
        throw new Error("the backup ends in the middle of a line: it is truncated");
      }
    }
  }

  /** Exactly n bytes; fails when the stream ends first. */
  async bytes(n: number): Promise<Buffer> {
    while (this.length < n) {
      if (!(await this.fill())) throw new Error("the backup ends in the middle of a table: it is truncated");
    }
    return this.take(n);
  }

  async frame(): Promise<Frame | null> {
    const l = await this.line();
    if (l === null) return null;
    try {
      return JSON.parse(l) as Frame;
    } catch {
      throw new Error(`not a Keel backup frame: ${l.slice(0, 80)}`);
    }
  }
}
