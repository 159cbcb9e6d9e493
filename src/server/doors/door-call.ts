/**
 * What every door does around the service call: gateway auth (the same Authorizer as the RPCs,
 * checked before the body is read), reading a bounded JSON body, the call context the service
 * expects (request id, pinned provider, client disconnect), and the provenance headers.
 */
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { Req, Res } from "../http.js";
import { ANONYMOUS, CALLER, type CallerIdentity } from "../auth.js";
import type { CallHeaders } from "../service.js";
import { toConnectError } from "../errors.js";

/** The caller behind a request's headers (src/server/auth.ts), or the UNAUTHENTICATED error. */
export type DoorAuthenticator = (req: Req) => CallerIdentity | ConnectError;

export interface DoorContext {
  authenticate: DoorAuthenticator;
  /** Largest request body accepted, bytes (server.max_request_bytes). */
  maxRequestBytes: () => number;
}

const header = (req: Req, name: string): string | null => {
  const v = req.headers[name];
  return typeof v === "string" ? v : Array.isArray(v) ? (v[0] ?? null) : null;
};

/** Who made each door call, for the service's key policy (tenant, limits, models). */
const callers = new WeakMap<Req, CallerIdentity>();

/** Runs the gateway key check; the error to answer with, or undefined (the caller is kept). */
export function checkAuth(ctx: DoorContext, req: Req): ConnectError | undefined {
  const caller = ctx.authenticate(req);
  if (caller instanceof ConnectError) return caller;
  callers.set(req, caller);
  return undefined;
}

/** The request body as JSON; a ConnectError (INVALID_ARGUMENT / RESOURCE_EXHAUSTED) when it is not. */
export async function readJson(req: Req, maxBytes: number): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > maxBytes) throw new ConnectError(`request body over ${maxBytes} bytes (server.max_request_bytes)`, Code.ResourceExhausted);
    parts.push(c);
  }
  const text = parts.length === 1 ? parts[0]!.toString("utf8") : Buffer.concat(parts).toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ConnectError(`body: not valid JSON (${(err as Error).message})`, Code.InvalidArgument);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ConnectError("body: must be a JSON object", Code.InvalidArgument);
  return body as Record<string, unknown>;
}

/**
 * The service's view of an HTTP door call. `X-Provider` is accepted as another name for
 * `x-llmpool-provider` (Ollama proxies use it); the signal aborts when the client goes away.
 */
export function callHeaders(req: Req, res: Res): CallHeaders {
  const ac = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  return {
    requestHeader: {
      get(name) {
        const v = header(req, name);
        if (v === null && name === "x-llmpool-provider") return header(req, "x-provider");
        return v;
      },
    },
    responseHeader: {
      set(name, value) {
        if (!res.headersSent) res.setHeader(name, value);
      },
    },
    signal: ac.signal,
    timeoutMs: () => undefined,
    // The key decides tenant, limits and models on the doors exactly as on the RPCs.
    values: createContextValues().set(CALLER, callers.get(req) ?? ANONYMOUS),
  };
}

/** `metadata.tenant` from `x-llmpool-tenant`, beside whatever metadata the body carried. */
export function requestMetadata(req: Req, given: Record<string, string> = {}): Record<string, string> {
  const tenant = header(req, "x-llmpool-tenant");
  return tenant ? { ...given, tenant } : given;
}

/** Provenance of a finished call, as response headers. */
export function setProvenance(res: Res, provider: string | undefined, attempts: number | undefined, costUsd: number | undefined): void {
  if (res.headersSent) return;
  if (provider) res.setHeader("x-llmpool-provider", provider);
  if (attempts !== undefined) res.setHeader("x-llmpool-attempts", String(attempts));
  if (costUsd !== undefined) res.setHeader("x-llmpool-cost-usd", costUsd.toFixed(8));
}

/** HTTP status for a gRPC code, as the doors answer (DESIGN.md §1 code table). */
export function httpStatus(code: Code): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.ResourceExhausted:
      return 429;
    case Code.Canceled:
      return 499;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    case Code.Unimplemented:
      return 501;
    default:
      return 500;
  }
}

/** Any failure as a ConnectError, with HTTP status and retry headers for the door's reply. */
export function doorError(err: unknown): { error: ConnectError; status: number } {
  const error = toConnectError(err);
  return { error, status: error.rawMessage.startsWith("request body over") ? 413 : httpStatus(error.code) };
}

/** Writes a JSON error body with the status and the retry / attempts headers of `error`. */
export function sendError(res: Res, status: number, error: ConnectError, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const h of ["retry-after", "retry-after-ms", "x-llmpool-attempts"]) {
    const v = error.metadata.get(h);
    if (v) res.setHeader(h, v);
  }
  sendJson(res, status, body);
}

export function sendJson(res: Res, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

/** Starts a streamed response once its first chunk is known (so provenance headers can go first). */
export function startStream(res: Res, contentType: string): void {
  if (res.headersSent) return;
  res.statusCode = 200;
  res.setHeader("content-type", contentType);
  res.setHeader("cache-control", "no-cache");
  (res as { flushHeaders?: () => void }).flushHeaders?.();
}
