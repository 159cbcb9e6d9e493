/**
 * Size caps on what an upstream sends back, so a broken or hostile upstream cannot grow the
 * process's memory: a JSON answer is read up to the provider's `max_response_bytes`, an error
 * body up to 64 KiB (enough for any real error message), and each event of a stream up to
 * `max_stream_event_bytes` (see src/providers/sse.ts and bedrock/event-stream.ts).
 */
import type { Dispatcher } from "undici";
import { ProviderError } from "../core/errors.js";

/** Bytes of an error body read before the rest is discarded. */
export const ERROR_BODY_CAP = 64 * 1024;

/** The error for an answer, or one stream event, over its cap; names the config key. */
export function oversize(provider: string, key: "max_response_bytes" | "max_stream_event_bytes", limit: number, status?: number): ProviderError {
  const what = key === "max_response_bytes" ? "response body" : "stream event";
  return new ProviderError({
    provider,
    kind: "invalid_response",
    status,
    message: `upstream ${what} exceeds ${key} (${limit} bytes)`,
  });
}

export interface CappedBody {
  text: string;
  /** The body was longer than the cap: `text` holds only the first `limit` bytes. */
  cut: boolean;
}

const ignore = () => undefined;

/** Drop the rest of a body without reading it (undici reports the abort as an error event). */
export function discard(res: Pick<Dispatcher.ResponseData, "body">): void {
  res.body.on("error", ignore);
  res.body.destroy();
}

/** The body's announced length is over `limit` (a body without content-length is read to see). */
export function announcedOver(res: Pick<Dispatcher.ResponseData, "headers">, limit: number): boolean {
  const v = res.headers["content-length"];
  return typeof v === "string" && Number(v) > limit;
}

/**
 * Read at most `limit` bytes of a body as UTF-8. A longer body is cut there and the rest of
 * the connection destroyed, never buffered. Listeners, not `for await`: the async iterator
 * costs a promise, a nextTick and ~1 KB per call on the unary hot path (bench/RESULTS.md "Second pass").
 */
export function readCapped(res: Dispatcher.ResponseData, limit: number): Promise<CappedBody> {
  return new Promise((resolve, reject) => {
    const body = res.body;
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = () => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
      body.off("close", onClose);
    };
    const finish = (cut: boolean) => {
      detach();
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      resolve({ text: buf.toString("utf8"), cut });
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit) {
        chunks.push(chunk.subarray(0, limit - size));
        size = limit;
        finish(true);
        discard(res);
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = () => finish(false);
    const onError = (err: Error) => {
      detach();
      reject(err);
    };
    // Destroyed without an error or an end (as `for await` reports it): the body broke off.
    const onClose = () => onError(Object.assign(new Error("premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onError);
    body.once("close", onClose);
  });
}
