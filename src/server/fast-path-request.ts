/**
 * The fast path's request side (src/server/fast-path.ts): read the body under the size cap and
 * the deadline, take off the message envelope, count caps on the wire and decode a ChatRequest.
 */
import { fromBinary, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RequestLimits } from "../config/schema.js";
import { ChatRequestSchema, type ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { Req } from "./http.js";
import type { Cancel } from "../util/cancel.js";
import { checkBinaryCaps, checkJsonCaps } from "./wire-caps.js";

/** Read the whole body, up to `max` bytes, giving up when `signal` aborts (the deadline). */
export function readBody(req: Req, max: number, signal: Cancel): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners("data");
        req.resume();
        reject(new ConnectError(`message size ${size} is larger than configured readMaxBytes ${max}`, Code.ResourceExhausted));
        return;
      }
      chunks.push(c);
    });
    // A stream reset or a connection cut before the end: nothing more will come. Removed at the
    // end, so a finished call builds no error (and captures no stack) when its request closes.
    const onClose = () => reject(new ConnectError("the client closed the request before sending all of it", Code.Canceled));
    // `on`, not `once`: each fires at most once here, and `once` allocates a wrapper per listener.
    // The error listener stays: an error after the end must not go unhandled.
    req.on("end", () => {
      signal.removeEventListener("abort", onAbort);
      req.off("close", onClose);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on("error", reject);
    req.on("close", onClose);
  });
}

/** The single enveloped message of a gRPC or Connect-streaming request. */
export function unenvelope(body: Buffer): Uint8Array {
  if (body.length < 5) throw new ConnectError("protocol error: missing message envelope", Code.InvalidArgument);
  const flags = body[0]!;
  const len = body.readUInt32BE(1);
  if (flags & 0b1) throw new ConnectError("protocol error: compressed message without an encoding", Code.InvalidArgument);
  if (len !== body.length - 5) throw new ConnectError("protocol error: expected exactly one message", Code.InvalidArgument);
  return body.subarray(5);
}

/** Decodes a ChatRequest after counting its metadata, tools and messages on the wire (wire-caps.ts). */
export function decode(body: Uint8Array, json: boolean, limits: RequestLimits | undefined): ChatRequest {
  let obj: unknown;
  try {
    if (!json) {
      if (limits) checkBinaryCaps(body, limits);
      return fromBinary(ChatRequestSchema, body);
    }
    obj = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString("utf8"));
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw new ConnectError(`cannot decode request: ${(err as Error).message}`, Code.InvalidArgument);
  }
  if (limits) checkJsonCaps(obj, limits);
  try {
    return fromJson(ChatRequestSchema, obj as JsonValue);
  } catch (err) {
    throw new ConnectError(`cannot decode request: ${(err as Error).message}`, Code.InvalidArgument);
  }
}
