import { sql } from "kysely";
import type { Tx } from "../db/tx.js";
import { InsufficientStock } from "../http/errors.js";
import { levelKey } from "../inventory/stock.js";
import { allowsSplit } from "./channels.js";
import { settle } from "./core.js";
import { committedStatements } from "./lifecycle.js";
import {
  needsSettling,
  type PlaceResult,
  type Prepared,
  placedAtOf,
  placedLines,
  prepare,
  startWrite,
  viewOf,
} from "./placement.js";
import { readPlacementContexts } from "./placement-context.js";
import { type Started, writeStarts } from "./placement-start.js";
import { type Decided, decideLines, linesInsertSql } from "./placement-stock.js";
import { placedView } from "./placement-view.js";
import type { PlaceOrderBody } from "./schema.js";
import type { OrderSettings } from "./settings.js";
import { type OrderTake, planTake, stockedVariantIds, type Taken, takeStock } from "./stock.js";
import { getOrderView } from "./view.js";

/**
 * Several placements in one transaction with the statements of one: a
 * context read for all, one statement writing every order and reading the
 * free units of every stock row they need, and one holding every order's
 * stock with its lines, counters, ledger rows and events. Each order is
 * decided on the free units left by the orders before it, exactly as if they
 * had been placed one after another; its records are those it would have
 * alone, except that a stock row's `inventory.level_changed` event is
 * written once per batch instead of once per order.
 *
 * The stock rows are locked only by the holding statement (`lock: false`):
 * two batches in flight then wait for each other only as long as that
 * statement and the commit take, not while the orders are written and
 * decided. Free units read without the lock may be stale; the holding
 * statement's guard still refuses any row whose free units would go below
 * zero, so nothing is oversold — the batch throws BatchStale, rolls back,
 * and the caller runs it again with `lock: true`, where the rows are locked
 * (in (variant, location) order) as they are read.
 *
 * Each order stays all-or-nothing: one refused for stock it cannot have
 * throws BatchRefused and the whole transaction rolls back, so the caller
 * places that one alone (where it gets its 409) and tries the others again.
 * A request refused before anything is written (422) is answered on its own
 * and does not touch the others.
 */

/** What became of one request of a batch. */
export type BatchOutcome =
  | {
      placed: Required<PlaceResult> & {
        /** The view was built from what placement wrote (placedView), so it is in the response schema's key order. */
        built: boolean;
      };
    }
  /** Refused before anything was written; nothing of it is in the database. */
  | { refused: unknown }
  /** Not placed in this batch: place it on its own (a checkout reservation, or a second request for the same channel order). */
  | { alone: true };

/** The free units the batch decided on had changed before its rows were locked: roll back, run again locked. */
export class BatchStale extends Error {
  constructor() {
    super("the batch's stock changed before it was locked");
  }
}

/** Orders the batch could not hold stock for; the transaction must roll back. */
export class BatchRefused extends Error {
  constructor(readonly refused: number[]) {
    super(`${refused.length} order(s) of the batch refused for stock`);
  }
}

export async function placeBatch(
  tx: Tx,
  inputs: PlaceOrderBody[],
  opts: { actor: string; lock: boolean; settings?: OrderSettings },
): Promise<BatchOutcome[]> {
  const { actor } = opts;
  const out: BatchOutcome[] = inputs.map(() => ({ alone: true }));
  const attempt = <T>(i: number, f: () => T): T | null => {
    try {
      return f();
    } catch (err) {
      out[i] = { refused: err };
      return null;
    }
  };

  // checkout reservations lock their rows when consumed: they go alone
  const dated = inputs.flatMap((input, i) => {
    if (input.reservation_id !== undefined) return [];
    const placedAt = attempt(i, () => placedAtOf(input));
    return placedAt ? [{ i, input, placedAt }] : [];
  });
  const contexts = await readPlacementContexts(tx, dated, opts.settings);
  const prepared: { i: number; p: Prepared }[] = [];
  const keys = new Set<string>();
  dated.forEach(({ i, input, placedAt }, k) => {
    const found = contexts[k];
    if ("refused" in found) {
      out[i] = { refused: found.refused };
      return;
    }
    const { ctx } = found;
    // drop-ship lines raise purchase orders: such an order is placed alone
    if (ctx.dropship.size > 0) return;
    if (input.external_id !== undefined) {
      const key = `${ctx.channel.id}\u0000${input.external_id}`;
      if (keys.has(key)) return; // the second request for one channel order waits for the first
      keys.add(key);
    }
    let ordersLastHour = 0;
    if (ctx.settings.fraud.max_orders_per_email_per_hour !== null) {
      // the stored orders, the batch's orders placed before this one, and this one
      const email = input.customer.email.toLowerCase();
      const since = placedAt.getTime() - 3_600_000;
      const earlier = prepared.filter(
        ({ p }) => p.input.customer.email.toLowerCase() === email && p.placedAt.getTime() > since,
      ).length;
      if (found.recent === null) return; // settings given by the caller, not stored: counted alone
      ordersLastHour = found.recent + earlier + 1;
    }
    const p = attempt(i, () => prepare(input, ctx, { actor, placedAt, ordersLastHour }));
    if (p) prepared.push({ i, p });
  });
  if (prepared.length === 0) return out;

  const lock = prepared.flatMap(({ p }) => stockedVariantIds(p.items));
  const starts = await writeStarts(
    tx,
    prepared.map(({ p }) => startWrite(p)),
    lock,
    { lock: opts.lock },
  );
  await answerDuplicates(tx, prepared, starts, out);

  // decide each order on what the orders before it left
  const free = new Map(starts.find((s) => s !== null)?.free ?? []);
  const refused: number[] = [];
  const decided: { i: number; p: Prepared; started: Started; d: Decided; take: OrderTake; taken: Taken }[] =
    [];
  prepared.forEach(({ i, p }, k) => {
    const started = starts[k];
    if (!started) return;
    const lines = placedLines(p, started);
    const d = decideLines(lines, free, {
      country: p.input.shipping_address.country,
      allowSplit: allowsSplit(p.ctx.channel),
      locations: p.ctx.locations,
    });
    if ("shortfalls" in d) {
      refused.push(i);
      return;
    }
    const take: OrderTake = {
      orderId: started.orderId,
      holds: d.holds,
      handedOver: [],
      commit: p.plan.commit,
    };
    const taken = planTake(take);
    for (const c of taken.changes) {
      const key = levelKey(c.variantId, c.locationId);
      free.set(key, (free.get(key) ?? 0) - (c.deltas.allocated ?? 0) - (c.deltas.reserved ?? 0));
    }
    decided.push({ i, p, started, d, take, taken });
  });
  if (refused.length) throw new BatchRefused(refused);
  if (decided.length === 0) return out;

  const takes = decided.map(({ take, taken }) => ({ order: take, taken }));
  const committed = decided.filter(({ p }) => p.plan.commit);
  const why = decided[0].p.plan.commitReason; // the settings are the batch's, so the reason is too
  const holding = takeStock(tx, takes, {
    actor,
    also: [
      linesInsertSql(
        decided.map(({ p, started, d }) => ({
          orderId: started.orderId,
          lines: placedLines(p, started),
          decided: d.lines,
        })),
      ),
      ...committedStatements(
        committed.map(({ p, started, taken }) => ({
          order: { id: started.orderId, number: started.number, status: p.plan.status },
          units: taken.units,
        })),
        actor,
        why,
        true,
      ),
    ],
  });
  await holding.catch((err) => {
    throw err instanceof InsufficientStock ? new BatchStale() : err;
  });

  for (const { i, p, started, d, taken } of decided) {
    const held = { units: taken.units, backordered: d.backordered, rows: taken.rows, lines: d.lines };
    const orderId = started.orderId;
    const settling = needsSettling(p, d.backordered);
    if (settling) await settle(tx, orderId, p.ctx.settings, actor);
    const built = settling ? null : placedView(viewOf(p, started, held));
    const view = built ?? (await getOrderView(tx, orderId));
    out[i] = { placed: { created: true, orderId, view, built: built !== null } };
  }
  return out;
}

/** Requests for a channel order that exists already get that order, as placed alone they would. */
async function answerDuplicates(
  tx: Tx,
  prepared: { i: number; p: Prepared }[],
  starts: (Started | null)[],
  out: BatchOutcome[],
): Promise<void> {
  const dup = prepared.filter((_, k) => starts[k] === null);
  if (dup.length === 0) return;
  const found = await sql<{ id: number; channel_id: number; external_id: string }>`
    select o.id, o.channel_id, o.external_id from orders o
    join unnest(${dup.map(({ p }) => p.ctx.channel.id)}::bigint[], ${dup.map(({ p }) => p.input.external_id!)}::text[])
      as u(channel_id, external_id) on o.channel_id = u.channel_id and o.external_id = u.external_id`.execute(
    tx,
  );
  const ids = new Map(found.rows.map((r) => [`${r.channel_id}\u0000${r.external_id}`, r.id]));
  for (const { i, p } of dup) {
    const orderId = ids.get(`${p.ctx.channel.id}\u0000${p.input.external_id}`)!;
    out[i] = { placed: { created: false, orderId, view: await getOrderView(tx, orderId), built: false } };
  }
}
