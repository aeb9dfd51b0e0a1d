import { type QueryClient, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

/** Which cached lists an event makes stale, by the event type's prefix. */
const INVALIDATES: Record<string, string[][]> = {
  order: [["orders"], ["order"], ["today"]],
  fulfillment: [["fulfillments"], ["order"], ["orders"], ["today"]],
  inventory: [["levels"], ["movements"]],
  stock: [["levels"], ["movements"]],
  reservation: [["levels"]],
  transfer: [["levels"], ["movements"]],
  purchase_order: [["today"], ["levels"], ["purchase-orders"], ["purchase-order"], ["suggestions"]],
  return: [["today"], ["order"], ["returns"], ["return"], ["order-returns"]],
  count: [["levels"], ["movements"], ["counts"], ["count"]],
};

/** Every event type Keel emits that the app listens for (SSE named events need one listener each). */
export const EVENT_TYPES = [
  "order.placed",
  "order.approved",
  "order.backorder_filled",
  "order.backordered",
  "order.cancelled",
  "order.completed",
  "order.held",
  "order.hold_updated",
  "order.lines_cancelled",
  "order.partially_shipped",
  "order.payment_recorded",
  "order.preparation_stopped",
  "order.preparing",
  "order.released",
  "order.shipped",
  "order.stock_held",
  "fulfillment.created",
  "fulfillment.picking",
  "fulfillment.packed",
  "fulfillment.shipped",
  "fulfillment.delivered",
  "fulfillment.cancelled",
  "order.allocated",
  "inventory.level_changed",
  "stock.changed",
  "reservation.created",
  "reservation.released",
  "reservation.expired",
  "reservation.consumed",
  "transfer.created",
  "transfer.received",
  "purchase_order.created",
  "purchase_order.submitted",
  "purchase_order.partially_received",
  "purchase_order.received",
  "purchase_order.closed",
  "return.requested",
  "return.received",
  "return.inspected",
  "return.closed",
  "return.authorised",
  "return.rejected",
  "return.refunded",
  "return.exchanged",
  "count.started",
  "count.recorded",
  "count.submitted",
  "count.approved",
  "count.cancelled",
];

function typeOf(data: string): string {
  try {
    return (JSON.parse(data) as { type?: string }).type ?? "";
  } catch {
    return "";
  }
}

export type LiveStatus = "connecting" | "open" | "retrying";

// a busy shop emits many events a second: each list is refetched at most once per FLUSH_MS
const FLUSH_MS = 1000;
const pending = new Map<string, string[]>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function invalidate(client: QueryClient, type: string) {
  for (const key of INVALIDATES[type.split(".")[0]] ?? []) pending.set(key.join("/"), key);
  if (flushTimer === undefined && pending.size > 0)
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      const keys = [...pending.values()];
      pending.clear();
      for (const key of keys) void client.invalidateQueries({ queryKey: key });
    }, FLUSH_MS);
}

/**
 * One EventSource per tab on /v1/events/stream. EventSource resumes with Last-Event-ID by itself;
 * each event marks the queries it affects stale, so open lists refetch without a reload.
 */
export function useLiveEvents(enabled: boolean): LiveStatus {
  const client = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  useEffect(() => {
    if (!enabled) return;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastId = "";
    const onEvent = (e: MessageEvent) => {
      if (e.lastEventId) lastId = e.lastEventId;
      invalidate(client, e.type === "message" ? typeOf(e.data) : e.type);
    };
    const connect = () => {
      // after a closed stream, resume where it stopped (EventSource only does this itself while retrying)
      source = new EventSource(lastId ? `/v1/events/stream?after=${lastId}` : "/v1/events/stream", {
        withCredentials: true,
      });
      source.onopen = () => setStatus("open");
      source.onerror = () => {
        setStatus("retrying");
        if (source?.readyState === EventSource.CLOSED) timer = setTimeout(connect, 5000);
      };
      for (const t of EVENT_TYPES) source.addEventListener(t, onEvent);
      source.onmessage = onEvent;
    };
    connect();
    return () => {
      clearTimeout(timer);
      source?.close();
    };
  }, [enabled, client]);
  return status;
}
