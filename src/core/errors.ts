import type { RateLimitInfo } from "./provider.js";
import { redact } from "../util/redact.js";

/**
 * The two error types below the server: ProviderError (one upstream call failed, classified by
 * its adapter) and PoolError (the request failed). Domain errors of the request lifecycle. The server maps them onto gRPC codes in exactly one
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
  | "permission_denied"
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

  /** The one door from anything caught to a PoolError: unknown errors become `internal`, redacted. */
  static from(reason: unknown): PoolError {
    return reason instanceof PoolError ? reason : new PoolError("internal", redact(String(reason)));
  }
}

export const invalidArgument = (field: string, why: string) =>
  new PoolError("invalid_argument", `${field}: ${why}`);

/**
 * How a failure is treated:
 *  - transient: the same provider may succeed later (connect errors, timeouts, 5xx, 429);
 *  - provider: this provider cannot serve it, another might (bad key, unknown model,
 *    context too long here, content policy here);
 *  - request: no provider will accept it (malformed request); stop at once.
 */
export type FailureScope = "transient" | "provider" | "request";

export type ProviderErrorKind =
  | "connect"
  | "timeout"
  | "rate_limited"
  | "overloaded"
  | "server"
  | "stream"
  | "invalid_response"
  | "auth"
  | "not_found"
  | "context_length"
  | "content_filter"
  | "bad_request"
  | "canceled";

const SCOPE: Record<ProviderErrorKind, FailureScope> = {
  connect: "transient",
  timeout: "transient",
  rate_limited: "transient",
  overloaded: "transient",
  server: "transient",
  stream: "transient",
  invalid_response: "transient",
  auth: "provider",
  not_found: "provider",
  context_length: "provider",
  content_filter: "provider",
  bad_request: "request",
  canceled: "request",
};

export interface ProviderErrorInit {
  provider: string;
  kind: ProviderErrorKind;
  /** Sanitised, human-readable reason (never a secret). */
  message: string;
  status?: number;
  retryAfterMs?: number;
  rateLimit?: RateLimitInfo;
  cause?: unknown;
}

/** Every adapter failure is one of these. */
export class ProviderError extends Error {
  readonly provider: string;
  readonly kind: ProviderErrorKind;
  readonly scope: FailureScope;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly rateLimit?: RateLimitInfo;

  constructor(init: ProviderErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProviderError";
    this.provider = init.provider;
    this.kind = init.kind;
    this.scope = SCOPE[init.kind];
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.rateLimit = init.rateLimit;
  }

  /**
   * Anything an adapter or a member threw, as a ProviderError of `provider` (after connect-es's
   * `ConnectError.from`): a ProviderError passes through; anything else becomes a `server`
   * failure whose message is redacted, since a thrown error may echo a request's key.
   */
  static from(reason: unknown, provider: string): ProviderError {
    if (reason instanceof ProviderError) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new ProviderError({ provider, kind: "server", message: redact(message), cause: reason });
  }

  get retryable(): boolean {
    return this.scope === "transient";
  }

  /** "kind (status): message", as shown in UNAVAILABLE errors and stats. */
  describe(): string {
    return `${this.kind}${this.status ? ` (HTTP ${this.status})` : ""}: ${this.message}`;
  }
}
