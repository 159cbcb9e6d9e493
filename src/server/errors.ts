/**
 * The one place where domain errors become gRPC/Connect errors (the table in README.md, "Errors").
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { PoolError, type PoolErrorCode } from "../core/errors.js";
import { redact, redactAndTruncate } from "../util/redact.js";

const CODES: Record<PoolErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  unavailable: Code.Unavailable,
  resource_exhausted: Code.ResourceExhausted,
  deadline_exceeded: Code.DeadlineExceeded,
  canceled: Code.Canceled,
  failed_precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  internal: Code.Internal,
};

export function toConnectError(err: unknown): ConnectError {
  if (err instanceof PoolError) {
    const metadata = new Headers();
    if (err.extra.retryAfterMs !== undefined) {
      metadata.set("retry-after-ms", String(Math.ceil(err.extra.retryAfterMs)));
      metadata.set("retry-after", String(Math.max(1, Math.ceil(err.extra.retryAfterMs / 1000))));
    }
    if (err.extra.attempts !== undefined) metadata.set("x-llmpool-attempts", String(err.extra.attempts));
    return new ConnectError(redact(err.message), CODES[err.code], metadata, undefined, err);
  }
  if (err instanceof ConnectError) return err;
  // Anything else is a bug: say so without leaking internals.
  return new ConnectError(`internal error: ${redactAndTruncate(String((err as Error)?.message ?? err), 200)}`, Code.Internal);
}
