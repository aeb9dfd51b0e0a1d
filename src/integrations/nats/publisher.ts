import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { OutboxEvent } from "../../events/outbox.js";
import type { OutboxConsumer } from "../dispatch/consumer.js";

/**
 * Every outbox event, also on NATS JetStream as `keel.<type>` (when NATS_URL
 * is set). The message id is the event id, so JetStream drops the copy a
 * redelivery sends within the stream's duplicate window: the dispatcher
 * delivers at least once, subscribers see each event once.
 *
 * Publishing happens in the dispatcher's transaction (a JetStream ack takes
 * about a millisecond on loopback); a failed publish throws, the cursor does
 * not move and the batch is published again on the next tick.
 */
export interface NatsPublisher extends OutboxConsumer {
  close(): Promise<void>;
}

export interface NatsOptions {
  url: string;
  /** The JetStream stream Keel publishes into, created when missing. Default KEEL. */
  stream?: string;
  /** Subjects are `<prefix>.<event type>`. Default keel. */
  prefix?: string;
  /** How long JetStream remembers message ids to drop duplicates. Default one hour. */
  duplicateWindowMs?: number;
}

/** A NATS subject token may not hold spaces, `*` or `>`; event types are dotted words already. */
export function subjectFor(prefix: string, type: string): string {
  return `${prefix}.${type.replace(/[\s*>]+/g, "_")}`;
}

export function eventMessage(e: OutboxEvent): string {
  return JSON.stringify({ id: e.id, type: e.type, created_at: e.created_at.toISOString(), data: e.payload });
}

export async function natsPublisher(opts: NatsOptions): Promise<NatsPublisher> {
  const stream = opts.stream ?? "KEEL";
  const prefix = opts.prefix ?? "keel";
  const nc: NatsConnection = await connect({ servers: opts.url, name: "keel" });
  let js: JetStreamClient;
  try {
    const jsm: JetStreamManager = await jetstreamManager(nc);
    await ensureStream(jsm, stream, `${prefix}.>`, (opts.duplicateWindowMs ?? 3_600_000) * 1_000_000);
    js = jetstream(nc);
  } catch (err) {
    await nc.close();
    throw err;
  }
  return {
    name: `nats:${stream}`,
    startAt: "now",
    async handle(_tx, events) {
      await Promise.all(
        events.map((e) => js.publish(subjectFor(prefix, e.type), eventMessage(e), { msgID: String(e.id) })),
      );
    },
    async close() {
      await nc.drain();
    },
  };
}

async function ensureStream(jsm: JetStreamManager, name: string, subject: string, duplicateWindowNs: number) {
  try {
    const info = await jsm.streams.info(name);
    if (!info.config.subjects?.includes(subject)) {
      await jsm.streams.update(name, { subjects: [...(info.config.subjects ?? []), subject] });
    }
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    await jsm.streams.add({ name, subjects: [subject], duplicate_window: duplicateWindowNs });
  }
}
