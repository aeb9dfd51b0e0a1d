import type { FastifyInstance, RouteOptions } from "fastify";
import { Forbidden } from "../http/errors.js";
import { PERMISSIONS, type Permission } from "./permissions.js";

/**
 * What a principal may do: the union of its roles' permissions. ("all" is
 * kept for callers outside HTTP that act with every permission.)
 */
export type Grants = ReadonlySet<Permission> | "all";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The permission the route's schema declares; "authenticated" for a route
     * any principal may call; null for a public route. Set at registration.
     */
    permission?: Permission | "authenticated" | null;
  }
}

/**
 * The permission a route's `security` declares: one permission (named the
 * same in every scheme), "authenticated" when its schemes name none
 * (`AUTHENTICATED`), null for a public route (`[]`), undefined when the route
 * declares nothing.
 */
/** The permission an operation of /openapi.json needs: its `x-permission`, else what its security names. */
export function documentedPermission(op: {
  security?: unknown;
  "x-permission"?: string;
}): Permission | "authenticated" | null | undefined {
  if (op["x-permission"] !== undefined) return declaredPermission([{ bearer: [op["x-permission"]] }]);
  return declaredPermission(op.security);
}

export function declaredPermission(security: unknown): Permission | "authenticated" | null | undefined {
  if (!Array.isArray(security)) return undefined;
  if (security.length === 0) return null;
  const names = new Set<string>();
  for (const requirement of security as Array<Record<string, string[]>>) {
    for (const scopes of Object.values(requirement)) for (const s of scopes) names.add(s);
  }
  if (names.size === 0) return "authenticated";
  const [only, ...more] = names;
  if (!only || more.length > 0 || !(only in PERMISSIONS)) {
    throw new Error(
      `security must name exactly one known permission (requires(...)), got ${JSON.stringify(security)}`,
    );
  }
  return only as Permission;
}

/**
 * Makes every `/v1` route declare its permission: registering one that does
 * not fails at startup, so a route cannot forget. The permission is kept on
 * the route's config for `authorize`.
 */
export function requireDeclaredPermissions(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    if (!route.url.startsWith("/v1/")) return;
    const permission = declaredPermission((route.schema as { security?: unknown } | undefined)?.security);
    if (permission === undefined) {
      const method = Array.isArray(route.method) ? route.method.join(",") : route.method;
      throw new Error(`${method} ${route.url} declares no permission: add security: requires(...) or PUBLIC`);
    }
    route.config = { ...(route.config as object), permission };
  });
}

/** Deny by default: a principal may call a route only with the permission it declares. */
export function authorize(grants: Grants, permission: Permission): void {
  if (grants === "all" || grants.has(permission)) return;
  throw new Forbidden(`This needs the permission ${permission}`);
}
