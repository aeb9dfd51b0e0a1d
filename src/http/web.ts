import fs from "node:fs";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import { PUBLIC } from "../access/permissions.js";
import type { App } from "./app.js";
import { problemType } from "./errors.js";

/** Where `npm install` / `npm start` put the built admin app (web/ensure-built.mjs). */
export const WEB_DIST = path.resolve(import.meta.dirname, "../../web/dist");

/** Paths the app never answers with index.html: the API and the server's own pages keep their 404s. */
const SERVER_PATHS = /^\/(v1|openapi\.json|metrics|storefront|docs|health)(\/|$|\?|-)/;

/**
 * Serves the admin app at `/`: its files as they are (hashed assets cached for a year), and
 * index.html for any other GET that is not the API, so a deep link such as /orders/42 opens the app.
 * Without a build (web/dist missing) nothing is registered and Keel runs as an API only.
 */
export async function serveWeb(app: App, dist = WEB_DIST): Promise<boolean> {
  if (!fs.existsSync(path.join(dist, "index.html"))) return false;
  await app.register(fastifyStatic, {
    root: dist,
    prefix: "/",
    wildcard: false,
    index: false,
    // @fastify/static 10 hands over the reply here, not the raw response
    setHeaders(reply: unknown, file: string) {
      (reply as import("fastify").FastifyReply).header(
        "cache-control",
        file.includes(`${path.sep}assets${path.sep}`) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  const notFound = (url: string) => ({
    type: problemType("not_found"),
    title: "Not found",
    status: 404,
    detail: `No route GET ${url.split("?")[0]}`,
    code: "not_found",
  });
  const page = async (req: { url: string }, reply: import("fastify").FastifyReply) => {
    // a missing file (has an extension) or a server path is a real 404, not the app
    if (SERVER_PATHS.test(req.url) || /\.[a-z0-9]+$/i.test(req.url.split("?")[0])) {
      return reply.code(404).type("application/problem+json").send(notFound(req.url));
    }
    reply.header("cache-control", "no-cache");
    return reply.sendFile("index.html");
  };
  app.get("/", { schema: { hide: true, security: PUBLIC } }, page);
  app.get("/*", { schema: { hide: true, security: PUBLIC } }, page);
  return true;
}
