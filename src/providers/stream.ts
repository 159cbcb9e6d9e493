/**
 * Running a parsed upstream stream: every failure leaves as a ProviderError, and the response
 * body is released at once when the consumer stops early or the parser throws.
 */
import type { Cancel } from "../util/cancel.js";
import { classifyStatus, transportError, type ExtractedError, type ResponseData } from "./http.js";
import { type StreamEvent } from "../core/provider.js";
import { ProviderError } from "../core/errors.js";

/** What a stream parser needs besides the bytes. */
export interface StreamContext {
  provider: string;
  /** Rate-limit headers of the response, put on the first event. */
  rateLimit?: StreamEvent["rateLimit"];
  /** The provider's `max_stream_event_bytes` (unset: no per-event cap). */
  maxEventBytes?: number;
}

export async function* pipeStream(
  provider: string,
  res: ResponseData,
  signal: Cancel,
  events: AsyncGenerator<StreamEvent>,
): AsyncGenerator<StreamEvent> {
  let done = false;
  try {
    yield* events;
    done = true;
  } catch (err) {
    throw transportError(provider, err, signal);
  } finally {
    if (!done) res.body.destroy();
  }
}

/** The error for a stream that ended without its terminal event. */
export function truncated(provider: string, what = "the stream"): ProviderError {
  return new ProviderError({
    provider,
    kind: "stream",
    message: `upstream closed ${what} before it finished`,
  });
}

/** Parse one JSON stream payload, or fail as invalid_response. */
export function parseStreamJson<T>(provider: string, data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new ProviderError({ provider, kind: "invalid_response", message: "upstream stream sent invalid JSON" });
  }
}

/** Put the response's rate-limit info on the first event of a stream. */
export function firstEvent(ctx: StreamContext, ev: StreamEvent): StreamEvent {
  if (ctx.rateLimit) ev.rateLimit = ctx.rateLimit;
  return ev;
}

/**
 * An error reported inside a stream (OpenAI `data: {"error":...}`, Anthropic `event: error`,
 * an Ollama `{"error":...}` line). A kind the upstream made clear (overloaded, rate limited,
 * context length) is kept; anything else is a retryable `stream` failure.
 */
export function streamError(provider: string, e: ExtractedError): ProviderError {
  let kind = e.kind ?? classifyStatus(400, e.message, e.code);
  if (kind === "server" || kind === "bad_request") kind = "stream";
  return new ProviderError({
    provider,
    kind,
    message: `error event in stream: ${e.code ? `${e.code}: ` : ""}${e.message}`,
    retryAfterMs: e.retryAfterMs,
  });
}
