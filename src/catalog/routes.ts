import { requires } from "../access/permissions.js";
import type { App, AppDeps } from "../http/app.js";
import { write } from "../http/idempotency.js";
import { createLocation, getLocation, listLocationPage, updateLocation } from "./locations.js";
import { createProduct, updateProduct } from "./product-writes.js";
import { getProduct, getVariantDetail, listProductPage } from "./products.js";
import { Location, LocationPage, Problem, Product, ProductPage, VariantDetail } from "./responses.js";
import {
  CreateLocationBody,
  CreateProductBody,
  ListLocationsQuery,
  ListProductsQuery,
  LocationParams,
  ProductParams,
  UpdateLocationBody,
  UpdateProductBody,
  VariantParams,
} from "./schema.js";

const tags = ["catalog"];
const read = { 400: Problem, 404: Problem };
const change = { 400: Problem, 404: Problem, 409: Problem, 422: Problem };

/** Catalog HTTP routes: parse, call one service function, reply. */
export async function catalogRoutes(app: App, { db }: AppDeps) {
  app.post(
    "/v1/locations",
    {
      schema: {
        security: requires("catalog:write"),
        tags,
        summary: "Create a location",
        description: "A warehouse, store or 3PL that holds stock. Lower `priority` is preferred.",
        body: CreateLocationBody,
        response: { 201: Location, ...change },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await createLocation(tx, req.body) })),
  );

  app.get(
    "/v1/locations",
    {
      schema: {
        security: requires("catalog:read"),
        tags,
        summary: "List locations",
        description: "In preference order: priority, then id.",
        querystring: ListLocationsQuery,
        response: { 200: LocationPage, ...read },
      },
    },
    (req) =>
      listLocationPage(db, {
        ...req.query,
        active: req.query.active === undefined ? undefined : req.query.active === "true",
      }),
  );

  app.get(
    "/v1/locations/:code",
    {
      schema: {
        security: requires("catalog:read"),
        tags,
        summary: "Get a location",
        params: LocationParams,
        response: { 200: Location, ...read },
      },
    },
    (req) => getLocation(db, req.params.code),
  );

  app.patch(
    "/v1/locations/:code",
    {
      schema: {
        security: requires("catalog:write"),
        tags,
        summary: "Change a location",
        params: LocationParams,
        body: UpdateLocationBody,
        response: { 200: Location, ...change },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await updateLocation(tx, req.params.code, req.body),
      })),
  );

  app.post(
    "/v1/products",
    {
      schema: {
        security: requires("catalog:write"),
        tags,
        summary: "Create a product with its variants",
        description:
          "The handle is generated from the title when absent. Bundles list their components by variant SKU.",
        body: CreateProductBody,
        response: { 201: Product, ...change },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({ status: 201, body: await createProduct(tx, req.body) })),
  );

  app.get(
    "/v1/products",
    {
      schema: {
        security: requires("catalog:read"),
        tags,
        summary: "List products",
        description:
          "In id order, with cursor pagination. `q` is a case-insensitive prefix of the title or a SKU.",
        querystring: ListProductsQuery,
        response: { 200: ProductPage, ...read },
      },
    },
    (req) => listProductPage(db, req.query),
  );

  app.get(
    "/v1/products/:id",
    {
      schema: {
        security: requires("catalog:read"),
        tags,
        summary: "Get a product",
        params: ProductParams,
        response: { 200: Product, ...read },
      },
    },
    (req) => getProduct(db, req.params.id),
  );

  app.patch(
    "/v1/products/:id",
    {
      schema: {
        security: requires("catalog:write"),
        tags,
        summary: "Change a product",
        description: "Fields given change; variants are matched by SKU, and an unknown SKU adds a variant.",
        params: ProductParams,
        body: UpdateProductBody,
        response: { 200: Product, ...change },
      },
    },
    (req, reply) =>
      write(db, req, reply, async (tx) => ({
        status: 200,
        body: await updateProduct(tx, req.params.id, req.body),
      })),
  );

  app.get(
    "/v1/variants/:sku",
    {
      schema: {
        security: requires("catalog:read"),
        tags,
        summary: "Get a variant by SKU",
        description: "With its product's title and status, and a bundle's components. URL-encode `/` as %2F.",
        params: VariantParams,
        response: { 200: VariantDetail, ...read },
      },
    },
    (req) => getVariantDetail(db, req.params.sku),
  );
}
