/**
 * Domain errors of the request lifecycle. The server maps them onto gRPC codes in exactly one
 * place (src/server/errors.ts); nothing below the server knows about gRPC.
 */
export type PoolErrorCode =
  | "invalid_argument"
  | "not_found"
  | "unavailable"
  | "resource_exhausted"
  | "deadline_exceeded"
  | "canceled"
  | "failed_precondition"
  | "unauthenticated"
  | "internal";

export class PoolError extends Error {
  constructor(
    readonly code: PoolErrorCode,
    message: string,
    readonly extra: {
      /** When the caller may usefully retry (RESOURCE_EXHAUSTED, UNAVAILABLE). */
      retryAfterMs?: number;
      /** Upstream attempts made before giving up. */
      attempts?: number;
      /** Providers tried, in order. */
      providers?: string[];
    } = {},
  ) {
    super(message);
    this.name = "PoolError";
  }
}

export const invalidArgument = (field: string, why: string) =>
  new PoolError("invalid_argument", `${field}: ${why}`);
