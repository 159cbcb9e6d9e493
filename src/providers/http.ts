/**
 * HTTP plumbing shared by adapters: one undici keep-alive Pool per upstream origin, request
 * helpers that never throw anything but ProviderError, and the generic parts of failure
 * classification (status codes, retry delays, rate-limit headers).
 */
import type { Cancel } from "../util/cancel.js";
import type { Dispatcher } from "undici";
import { Pool, request, undiciErrors } from "./undici-pool.js";
import { redactAndTruncate } from "../util/redact.js";
import { type RateLimitInfo } from "../core/provider.js";
import { ProviderError, type ProviderErrorKind } from "../core/errors.js";
import { ERROR_BODY_CAP, announcedOver, discard, oversize, readCapped } from "./response-caps.js";

export interface HttpUpstreamOptions {
  /** Provider name, for errors. */
  provider: string;
  baseUrl: string;
  connections: number;
  connectTimeoutMs: number;
  /** Headers sent with every request (auth, versions, user-configured). */
  headers: Record<string, string>;
}

export type ResponseData = Dispatcher.ResponseData;

/** A keep-alive connection pool to one upstream base URL. */
export class HttpUpstream {
  readonly provider: string;
  readonly origin: string;
  /** Path prefix of the base URL, without a trailing slash ("/v1"). */
  readonly basePath: string;
  readonly headers: Record<string, string>;
  private readonly pool: Pool;

  constructor(opts: HttpUpstreamOptions) {
    const url = new URL(opts.baseUrl);
    this.provider = opts.provider;
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.headers = opts.headers;
    this.pool = new Pool(this.origin, {
      connections: opts.connections,
      connect: { timeout: opts.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      // Total timeouts are enforced by the pool's per-attempt abort; these only catch a
      // socket that goes silent for far longer than any sane generation pause.
      headersTimeout: 0,
      bodyTimeout: 0,
      pipelining: 1,
    });
  }

  /**
   * Send a request. Resolves with any status (callers classify non-2xx with `failFromResponse`);
   * rejects only with ProviderError (connect failures, aborts).
   */
  async request(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    signal: Cancel,
    extraHeaders?: Record<string, string>,
  ): Promise<ResponseData> {
    const headers: Record<string, string> = extraHeaders
      ? { ...this.headers, ...extraHeaders }
      : this.headers;
    try {
      return await request.call(this.pool, {
        method,
        path: this.basePath + path,
        body,
        headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
        signal,
      });
    } catch (err) {
      throw transportError(this.provider, err, signal);
    }
  }

  /** Open up to `n` connections now, so the first real request does not pay for setup. */
  async warmup(path: string, signal: AbortSignal, n = 1): Promise<void> {
    const calls: Promise<void>[] = [];
    for (let i = 0; i < n; i++) calls.push(this.request("GET", path, undefined, signal).then((res) => res.body.dump()));
    // Any HTTP answer (even 401) means a connection is open; none at all means not warmed.
    const settled = await Promise.allSettled(calls);
    if (!settled.some((r) => r.status === "fulfilled")) throw (settled[0] as PromiseRejectedResult).reason;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

/** Map a thrown transport error (undici, abort) onto a ProviderError. */
export function transportError(provider: string, err: unknown, signal?: Cancel): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof ProviderError) return reason;
    const timedOut = reason instanceof Error && reason.name === "TimeoutError";
    return new ProviderError({
      provider,
      kind: timedOut ? "timeout" : "canceled",
      message: timedOut ? reason.message || "attempt timed out" : "request canceled",
      cause: err,
    });
  }
  const e = err as { code?: string; message?: string; name?: string };
  let kind: ProviderErrorKind = "connect";
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    kind = "timeout";
  } else if (e.code === "UND_ERR_CONNECT_TIMEOUT") {
    kind = "timeout";
  } else if (e.code === "UND_ERR_SOCKET" || e.code === "ECONNRESET" || e.code === "EPIPE") {
    kind = "connect";
  }
  const detail = e.code ? `${e.code}${e.message ? ` ${e.message}` : ""}` : (e.message ?? String(err));
  return new ProviderError({ provider, kind, message: redactAndTruncate(detail, 300), cause: err });
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

/** First value of a header (undici gives string | string[]). */
export function header(res: Pick<ResponseData, "headers">, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `retry-after-ms` (ms) or `retry-after` (seconds or an HTTP date), in milliseconds. */
export function parseRetryAfter(res: Pick<ResponseData, "headers">, nowMs = Date.now()): number | undefined {
  const ms = header(res, "retry-after-ms");
  if (ms !== undefined) {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = header(res, "retry-after");
  if (ra === undefined) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** OpenAI-style durations: "1s", "6m0s", "20ms", "1h2m3.5s". */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const n = Number(text);
  if (Number.isFinite(n)) return n * 1000;
  let total = 0;
  let matched = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    matched = true;
    const v = Number(m[1]);
    total += m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : m[2] === "m" ? v * 60_000 : v * 3_600_000;
  }
  return matched ? total : undefined;
}

const num = (v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** `x-ratelimit-*` headers (OpenAI, Groq, Together, OpenRouter, vLLM proxies). */
export function parseOpenAIRateLimit(res: Pick<ResponseData, "headers">): RateLimitInfo | undefined {
  const limitRequests = num(header(res, "x-ratelimit-limit-requests"));
  const remainingRequests = num(header(res, "x-ratelimit-remaining-requests"));
  const limitTokens = num(header(res, "x-ratelimit-limit-tokens"));
  const remainingTokens = num(header(res, "x-ratelimit-remaining-tokens"));
  if (
    limitRequests === undefined &&
    remainingRequests === undefined &&
    limitTokens === undefined &&
    remainingTokens === undefined
  ) {
    return undefined;
  }
  return {
    limitRequests,
    remainingRequests,
    resetRequestsMs: parseDuration(header(res, "x-ratelimit-reset-requests")),
    limitTokens,
    remainingTokens,
    resetTokensMs: parseDuration(header(res, "x-ratelimit-reset-tokens")),
  };
}

const CONTEXT_RE =
  /context[_ ]length|maximum context|context window|too many tokens|prompt is too long|input is too long|reduce the length|exceeds the (?:maximum|max)/i;
const CONTENT_RE = /content[_ ]policy|content[_ ]filter|safety|responsible ?ai|flagged/i;

/** Classify an HTTP failure by status and (sanitised) upstream message. */
export function classifyStatus(status: number, message: string, code = ""): ProviderErrorKind {
  const text = `${code} ${message}`;
  if (status === 429) {
    // A spent quota or billing problem is not transient, whatever the status says.
    return /insufficient_quota|billing|quota exceeded|exceeded your current quota/i.test(text)
      ? "auth"
      : "rate_limited";
  }
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 413) return "context_length";
  if (status === 503 || status === 529) return "overloaded";
  if (status >= 500) return "server";
  if (CONTEXT_RE.test(text)) return "context_length";
  if (CONTENT_RE.test(text)) return "content_filter";
  if (status === 409) return "server";
  return "bad_request";
}

/**
 * What an adapter read from an error body. `kind` and `retryAfterMs` override the generic
 * classification (e.g. Gemini's RetryInfo, Bedrock's error-type header).
 */
export interface ExtractedError {
  message: string;
  code: string;
  kind?: ProviderErrorKind;
  retryAfterMs?: number;
}

/** Pull a human message out of a JSON (or text) error body. */
export function extractErrorMessage(body: string): ExtractedError {
  let message = body.trim();
  let code = "";
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const err = (j.error ?? j) as Record<string, unknown> | string;
    if (typeof err === "string") message = err;
    else if (err && typeof err === "object") {
      const m = err.message ?? j.message ?? j.detail;
      if (typeof m === "string") message = m;
      const c = err.code ?? err.type ?? err.status;
      if (typeof c === "string") code = c;
    }
  } catch {
    // not JSON: keep the text
  }
  return { message: redactAndTruncate(message.replace(/\s+/g, " "), 300) || "(empty body)", code };
}

/**
 * Turn a non-2xx response into a ProviderError, consuming its body. Adapters with their own
 * error shapes pass a custom `extract`.
 */
export async function failFromResponse(
  provider: string,
  res: ResponseData,
  extract: (body: string, res: ResponseData) => ExtractedError = extractErrorMessage,
  rateLimit?: RateLimitInfo,
): Promise<ProviderError> {
  let body = "";
  let cut = false;
  try {
    ({ text: body, cut } = await readCapped(res, ERROR_BODY_CAP));
  } catch {
    // body broke off: classify by status alone
  }
  const { message, code, kind, retryAfterMs } = extract(body, res);
  const text = code ? `${code}: ${message}` : message;
  return new ProviderError({
    provider,
    kind: kind ?? classifyStatus(res.statusCode, message, code),
    status: res.statusCode,
    message: cut ? `${text} (error body over ${ERROR_BODY_CAP} bytes; the rest was discarded)` : text,
    retryAfterMs: parseRetryAfter(res) ?? retryAfterMs,
    rateLimit,
  });
}

/**
 * Read a 2xx JSON body of at most `maxBytes` (the provider's `max_response_bytes`), mapping
 * read and parse failures, and a larger body, to ProviderError.
 */
export async function readJson<T>(
  provider: string,
  res: ResponseData,
  signal: Cancel,
  maxBytes: number,
): Promise<T> {
  if (announcedOver(res, maxBytes)) {
    discard(res);
    throw oversize(provider, "max_response_bytes", maxBytes, res.statusCode);
  }
  let text: string;
  try {
    const body = await readCapped(res, maxBytes);
    if (body.cut) throw oversize(provider, "max_response_bytes", maxBytes, res.statusCode);
    text = body.text;
  } catch (err) {
    throw transportError(provider, err, signal);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProviderError({
      provider,
      kind: "invalid_response",
      status: res.statusCode,
      message: `upstream sent invalid JSON: ${redactAndTruncate(text, 120)}`,
    });
  }
}

export interface SendOptions {
  /** Reads the adapter's error body shape (default: OpenAI-style). */
  extract?: (body: string, res: ResponseData) => ExtractedError;
  /** Reads the adapter's rate-limit headers (default: `x-ratelimit-*`). */
  rateLimit?: (res: ResponseData) => RateLimitInfo | undefined;
  headers?: Record<string, string>;
}

/**
 * Send a request and fail on any non-2xx status with a classified ProviderError carrying the
 * retry delay and rate-limit headers.
 */
export async function send(
  up: HttpUpstream,
  method: "GET" | "POST",
  path: string,
  body: string | undefined,
  signal: Cancel,
  opts: SendOptions = {},
): Promise<{ res: ResponseData; rateLimit?: RateLimitInfo }> {
  const res = await up.request(method, path, body, signal, opts.headers);
  const rateLimit = (opts.rateLimit ?? parseOpenAIRateLimit)(res);
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw await failFromResponse(up.provider, res, opts.extract, rateLimit);
  }
  return { res, rateLimit };
}
