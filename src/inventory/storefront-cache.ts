import type { DB } from "../db/pool.js";
import type { EventFeed } from "../events/feed.js";
import type { OutboxEvent } from "../events/outbox.js";
import { type StorefrontStatus, storefrontAvailability } from "./levels.js";

export interface StorefrontEntry {
  sku: string;
  status: StorefrontStatus;
  quantity?: number;
}

/**
 * Storefront availability served from memory. The outbox feed invalidates a
 * SKU (and every bundle made of it) when its stock changes, and the whole
 * cache when the catalogue changes. A value read from the database is only
 * kept if no invalidation of that SKU arrived while it was being read, so a
 * committed change that has reached the feed is never hidden by a stale fill.
 */
export class StorefrontCache {
  private entries = new Map<string, StorefrontEntry>();
  /** feed generation at which each SKU was last invalidated */
  private invalidated = new Map<string, number>();
  private generation = 0;
  private clearedAt = 0;
  private unsubscribe: () => void;
  private changeListeners = new Set<(skus: Set<string>) => void>();
  /** Each cached entry's JSON, made once: an entry object is replaced, never changed, when its SKU changes. */
  private serialized = new WeakMap<StorefrontEntry, string>();

  constructor(
    private db: DB,
    feed: EventFeed,
    private maxEntries = 200_000,
  ) {
    // stock changes name their SKU; catalogue and location events clear everything, whatever they say
    this.unsubscribe = feed.subscribe((events) => this.apply(events), ["inventory.level_changed"]);
  }

  async get(skus: string[]): Promise<StorefrontEntry[]> {
    const missing = skus.filter((s) => !this.entries.has(s));
    if (missing.length) {
      const startedAt = this.generation;
      const fresh = await storefrontAvailability(this.db, missing);
      for (const entry of fresh) {
        if ((this.invalidated.get(entry.sku) ?? 0) <= startedAt && this.clearedAt <= startedAt) {
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(entry.sku, entry);
        }
      }
      const bySku = new Map(fresh.map((e) => [e.sku, e]));
      return skus.map((s) => this.entries.get(s) ?? (bySku.get(s) as StorefrontEntry));
    }
    return skus.map((s) => this.entries.get(s) as StorefrontEntry);
  }

  /** `{"data": [...]}` for these SKUs as JSON text, as JSON.stringify would write it. */
  async json(skus: string[]): Promise<string> {
    const entries = await this.get(skus);
    let out = '{"data":[';
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      let text = this.serialized.get(e);
      if (text === undefined) {
        text = JSON.stringify(e);
        this.serialized.set(e, text);
      }
      out += i === 0 ? text : `,${text}`;
    }
    return `${out}]}`;
  }

  /** Called with the SKUs whose storefront answer may have changed. */
  onChange(listener: (skus: Set<string>) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private apply(events: OutboxEvent[]): void {
    const changed = new Set<string>();
    let all = false;
    for (const e of events) {
      const payload = e.payload as { sku?: string; bundles?: string[] } | null;
      if (e.type === "inventory.level_changed" && payload?.sku) {
        changed.add(payload.sku);
        for (const b of payload.bundles ?? []) changed.add(b);
      } else if (e.type.startsWith("product.") || e.type.startsWith("location.")) {
        all = true;
      }
    }
    if (!all && changed.size === 0) return;
    this.generation += 1;
    if (all) {
      this.entries.clear();
      this.clearedAt = this.generation;
    }
    for (const sku of changed) {
      this.entries.delete(sku);
      this.invalidated.set(sku, this.generation);
    }
    if (this.changeListeners.size) {
      const skus = all ? new Set<string>(["*"]) : changed;
      for (const l of this.changeListeners) l(skus);
    }
  }

  close(): void {
    this.unsubscribe();
    this.changeListeners.clear();
  }
}
