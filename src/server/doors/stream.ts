/**
 * Drives one streamed answer through a door's wire format. The response starts with the first
 * chunk, so the provenance headers (x-llmpool-provider, x-request-id) go out with it and a
 * failure before any chunk is still a plain HTTP error. After that a failure becomes the
 * door's own error event: a stream never just stops. Failover chunks from the pool carry the
 * continuation of the same answer and are passed through as ordinary deltas. A restart chunk
 * (the answer starts over: clients must discard what they got) has no form in these wire
 * formats, so after one began the stream ends with the door's error event instead of a garbled
 * answer (README "Streams: stalls and resume").
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ChatRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import type { Req, Res } from "../http.js";
import { callHeaders, doorError, sendError, setProvenance, startStream } from "./door-call.js";
import type { DoorService, StreamChunk } from "./service-view.js";

/** One door's stream encoding. Each method returns the bytes to write (may be empty). */
export interface StreamFormat {
  readonly contentType: string;
  chunk(c: StreamChunk, first: boolean): string;
  /** After the last chunk (e.g. `data: [DONE]`). */
  end(): string;
  /** A failure after the stream began, in the door's error-event form. */
  error(err: ConnectError, status: number): string;
}

export async function runStream(
  service: DoorService,
  request: ChatRequest,
  req: Req,
  res: Res,
  format: StreamFormat,
  errorBody: (err: ConnectError, status: number) => unknown,
): Promise<void> {
  const ctx = callHeaders(req, res);
  let started = false;
  let attempts: number | undefined;
  let cost: number | undefined;
  try {
    for await (const c of service.streamChat(request, ctx)) {
      if (c.restart) {
        const r = c.restart;
        throw new ConnectError(
          `stream from ${r.fromProvider} failed after ${r.discarded} characters were delivered: ${r.reason} (not resumed: ${r.toProvider} would start the answer over, which this API cannot express; gRPC clients get a restart chunk)`,
          Code.Unavailable,
        );
      }
      if (c.attempts) attempts = c.attempts;
      if (c.costUsd !== undefined && c.finishReason) cost = c.costUsd;
      if (!started) {
        setProvenance(res, c.provider, undefined, undefined);
        res.setHeader("trailer", "x-llmpool-attempts, x-llmpool-cost-usd");
        startStream(res, format.contentType);
        started = true;
        if (!(await write(res, format.chunk(c, true)))) return;
        continue;
      }
      if (!(await write(res, format.chunk(c, false)))) return;
    }
    if (!started) startStream(res, format.contentType);
    await write(res, format.end());
    trailers(res, attempts, cost);
    res.end();
  } catch (err) {
    const { error, status } = doorError(err);
    if (!started) return sendError(res, status, error, errorBody(error, status));
    if (res.destroyed) return;
    await write(res, format.error(error, status));
    trailers(res, attempts, cost);
    res.end();
  }
}

function trailers(res: Res, attempts: number | undefined, cost: number | undefined): void {
  const t: Record<string, string> = {};
  if (attempts !== undefined) t["x-llmpool-attempts"] = String(attempts);
  if (cost !== undefined) t["x-llmpool-cost-usd"] = cost.toFixed(8);
  res.addTrailers(t);
}

/** Writes, waiting for the socket to drain; false when the client is gone. */
function write(res: Res, text: string): Promise<boolean> | boolean {
  if (res.destroyed) return false;
  if (!text) return true;
  if ((res as { write(s: string): boolean }).write(text)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
