/**
 * Typed domain errors. Services throw these; the HTTP layer turns each into an
 * RFC 9457 problem+json reply with a stable `code`.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export class NotFound extends DomainError {
  constructor(what: string, key: string | number) {
    super(404, "not_found", "Not found", `${what} ${JSON.stringify(key)} does not exist`, { resource: what });
  }
}

export interface Shortfall {
  sku: string;
  requested: number;
  available: number;
  location?: string;
}

export class InsufficientStock extends DomainError {
  constructor(readonly shortfalls: Shortfall[]) {
    const list = shortfalls
      .map(
        (s) =>
          `${s.sku}: ${s.requested} requested, ${s.available} available${s.location ? ` at ${s.location}` : ""}`,
      )
      .join("; ");
    super(409, "insufficient_stock", "Insufficient stock", `Not enough stock, nothing was held (${list})`, {
      lines: shortfalls,
    });
  }
}

export class InvalidTransition extends DomainError {
  constructor(entity: string, from: string, action: string, allowed: string[], reason?: string) {
    super(
      409,
      "invalid_transition",
      "Invalid transition",
      reason ?? `${entity} in status ${from} cannot ${action}; allowed: ${allowed.join(", ") || "none"}`,
      { status_now: from, action, allowed },
    );
  }
}

export class Conflict extends DomainError {
  constructor(detail: string, extra: Record<string, unknown> = {}) {
    super(409, "conflict", "Conflict", detail, extra);
  }
}

export interface FieldError {
  path: string;
  message: string;
}

/** Input that is well-formed but breaks a business rule (unknown SKU in a list, bad check digit…). */
export class ValidationFailed extends DomainError {
  constructor(errors: FieldError[], status = 422) {
    super(
      status,
      "validation_failed",
      "Validation failed",
      errors.map((e) => `${e.path}: ${e.message}`).join("; "),
      {
        errors,
      },
    );
  }
}

export class Unauthorized extends DomainError {
  constructor(detail = "A valid API key is required: send `Authorization: Bearer <key>`") {
    super(401, "unauthorized", "Unauthorized", detail);
  }
}

export class Forbidden extends DomainError {
  constructor(detail = "You may not do this") {
    super(403, "forbidden", "Forbidden", detail);
  }
}

export function problemType(code: string): string {
  return `https://keel.dev/problems/${code}`;
}
