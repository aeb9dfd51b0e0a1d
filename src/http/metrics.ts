import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import client from "prom-client";

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const requests = new client.Histogram({
  name: "keel_http_request_duration_seconds",
  help: "HTTP request duration by route and status",
  labelNames: ["method", "route", "status"],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

/** Requests answered per database statement or transaction where concurrent requests are coalesced. */
export const batchSize = new client.Histogram({
  name: "keel_batch_size",
  help: "Requests per coalesced batch: quick reservations per statement, orders per placement transaction",
  labelNames: ["kind"],
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 500],
  registers: [registry],
});

/** Orders a batch handed to the one-by-one path, and why. */
export const placedAlone = new client.Counter({
  name: "keel_orders_placed_alone_total",
  help: "Orders placed on their own instead of in a batch: refused for stock, stale stock after retries, a checkout reservation or repeated channel order, or a failed batch",
  labelNames: ["why"],
  registers: [registry],
});

/** Prometheus metrics at /metrics: process defaults, request latency per route, and how well concurrent requests coalesce. */
export const metricsPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("onResponse", async (req, reply) => {
    requests.observe(
      { method: req.method, route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
});
